//go:build linux || darwin

package fingerprint

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

func fromUnix(st *unix.Stat_t) statInfo {
	return statInfo{
		size:  st.Size,
		mtime: int64(st.Mtim.Sec)*1e9 + int64(st.Mtim.Nsec),
		ctime: int64(st.Ctim.Sec)*1e9 + int64(st.Ctim.Nsec),
		ino:   uint64(st.Ino),
		mode:  uint32(st.Mode),
	}
}

// lstat returns the entry's stat and its kind.
func (d *dirHandle) lstat(name string) (statInfo, fileKind, error) {
	var st unix.Stat_t
	for {
		err := fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return statInfo{}, 0, &fs.PathError{Op: "lstat", Path: name, Err: err}
		}
		break
	}
	k := kindOther
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		k = kindRegular
	case unix.S_IFLNK:
		k = kindLink
	case unix.S_IFDIR:
		k = kindDir
	}
	return fromUnix(&st), k, nil
}

func (d *dirHandle) readlink(name string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(d.fd, name, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}
