//go:build linux

package fingerprint

import (
	"io"
	"io/fs"

	"golang.org/x/sys/unix"
)

// rawFile is a file being hashed, read with plain syscalls: os.Open
// would register it with the runtime's poller and give it a finalizer (an
// os.File per file is garbage a 100,000-file cold plan collects late).
type rawFile struct{ fd int }

func openFile(path string) (rawFile, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return rawFile{}, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return rawFile{fd}, nil
	}
}

func (f rawFile) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(p) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f rawFile) close() { unix.Close(f.fd) }

func (f rawFile) stat() (statInfo, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstat(f.fd, &st)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return statInfo{}, err
		}
		return fromUnix(&st), nil
	}
}
