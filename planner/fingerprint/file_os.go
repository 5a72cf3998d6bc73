//go:build !linux

package fingerprint

import "os"

// osFile is a file being hashed.
type osFile struct{ f *os.File }

func openFile(path string) (osFile, error) {
	f, err := os.Open(path)
	return osFile{f}, err
}

func (o osFile) Read(p []byte) (int, error) { return o.f.Read(p) }
func (o osFile) close()                     { o.f.Close() }

func (o osFile) stat() (statInfo, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return statInfo{}, err
	}
	return statOf(fi), nil
}
