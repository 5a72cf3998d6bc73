//go:build linux

package fingerprint

import (
	"encoding/binary"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// dirHandle lists a directory and stats its entries relative to the
// directory's descriptor (fstatat), which saves the kernel a full path
// lookup per file.
//
// On Linux the directory is opened and read with plain syscalls: os.Open
// registers every descriptor with the runtime's poller (four fcntl and a
// failing epoll_ctl per directory) and os.File.ReadDir allocates an entry
// object per name; a no-op plan lists every directory of every source.
type dirHandle struct{ fd int }

// dirent is one directory entry; it implements fs.DirEntry.
type dirent struct {
	dir  string // the directory's absolute path, for Info
	name string
	typ  fs.FileMode // type bits only
}

func (d *dirent) Name() string               { return d.name }
func (d *dirent) IsDir() bool                { return d.typ.IsDir() }
func (d *dirent) Type() fs.FileMode          { return d.typ }
func (d *dirent) Info() (fs.FileInfo, error) { return os.Lstat(d.dir + "/" + d.name) }

// direntBufs holds getdents buffers between directories.
var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func openDir(abs string) (*dirHandle, []fs.DirEntry, error) {
	var fd int
	var err error
	for {
		fd, err = unix.Open(abs, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: abs, Err: err}
	}
	dh := &dirHandle{fd: fd}
	ents, err := dh.readAll(abs)
	if err != nil {
		dh.close()
		return nil, nil, err
	}
	return dh, ents, nil
}

func (d *dirHandle) close() { unix.Close(d.fd) }

// readAll lists the directory (without . and ..), in the order the
// kernel gives.
func (d *dirHandle) readAll(abs string) ([]fs.DirEntry, error) {
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	var slab []dirent
	for {
		n, err := unix.Getdents(d.fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: abs, Err: err}
		}
		if n <= 0 {
			break
		}
		// struct linux_dirent64: ino u64, off s64, reclen u16, type u8,
		// then the NUL-terminated name.
		for off := 0; off+19 <= n; {
			rec := buf[off:n]
			reclen := int(binary.NativeEndian.Uint16(rec[16:18]))
			if reclen < 19 || reclen > len(rec) {
				return nil, &fs.PathError{Op: "readdirent", Path: abs, Err: unix.EIO}
			}
			name := rec[19:reclen]
			for i, c := range name {
				if c == 0 {
					name = name[:i]
					break
				}
			}
			off += reclen
			if len(name) == 0 || string(name) == "." || string(name) == ".." {
				continue
			}
			e := dirent{dir: abs, name: string(name)}
			switch rec[18] {
			case unix.DT_REG:
			case unix.DT_DIR:
				e.typ = fs.ModeDir
			case unix.DT_LNK:
				e.typ = fs.ModeSymlink
			case unix.DT_UNKNOWN:
				// Some filesystems do not say: ask, as os.ReadDir does.
				_, kind, err := d.lstat(e.name)
				if err != nil {
					continue // gone meanwhile
				}
				e.typ = modeOfKind(kind)
			default:
				e.typ = fs.ModeIrregular // sockets, fifos, devices: never packed
			}
			slab = append(slab, e)
		}
	}
	ents := make([]fs.DirEntry, len(slab))
	for i := range slab {
		ents[i] = &slab[i]
	}
	return ents, nil
}

func modeOfKind(k fileKind) fs.FileMode {
	switch k {
	case kindRegular:
		return 0
	case kindDir:
		return fs.ModeDir
	case kindLink:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}
