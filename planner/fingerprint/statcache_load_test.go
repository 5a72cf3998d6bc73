package fingerprint

// Loaders for the tests: adopipe itself loads in the background
// (LoadStatCacheAsync).

// NewStatCache returns an empty cache.
func NewStatCache() *StatCache {
	c := &StatCache{roots: map[string]*rootCache{}, ready: make(chan struct{})}
	close(c.ready)
	return c
}

// LoadStatCache reads a cache saved by Save, streaming: memory holds the
// decoded entries, never the file. A missing, unreadable, corrupt or
// older-format file yields an empty cache: it is only a cache.
func LoadStatCache(path string) *StatCache {
	c := NewStatCache()
	c.load(path)
	return c
}
