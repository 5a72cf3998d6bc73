//go:build darwin

package fingerprint

import (
	"io/fs"
	"os"
)

// dirHandle lists a directory and stats its entries relative to the
// directory's descriptor (fstatat), which saves the kernel a full path
// lookup per file.
type dirHandle struct {
	f  *os.File
	fd int
}

func openDir(abs string) (*dirHandle, []fs.DirEntry, error) {
	f, err := os.Open(abs)
	if err != nil {
		return nil, nil, err
	}
	ents, err := f.ReadDir(-1)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return &dirHandle{f: f, fd: int(f.Fd())}, ents, nil
}

func (d *dirHandle) close() { d.f.Close() }
