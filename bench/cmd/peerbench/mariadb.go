package main

// peerbench mariadb -dir DIR -addr-file FILE
//
// ado --remote refuses SQLite contexts, so both sides of the comparison
// store results in one MariaDB server. This runs mariadbd (Debian's
// mariadb-server, installed by `make mariadb`) as a child process: its own
// datadir under DIR (initialised once with mariadb-install-db), a free
// loopback port, no config files read. Once the server answers, it makes
// the database "bench" afresh with a user "bench"@127.0.0.1, password
// "bench" (ado-core 2.3.0 fails on a metastore without a password; nothing
// secret on a loopback-only bench server), writes HOST:PORT to FILE
// (atomically) and waits. SIGTERM or SIGINT stops the server by its pid.

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/bench/internal/benchstat"
	"github.com/adopipe/adopipe/internal/atomicfile"
)

const (
	dbName     = "bench"
	dbUser     = "bench"
	dbPassword = "bench"
)

func runMariaDB(args []string) error {
	fs := flag.NewFlagSet("mariadb", flag.ExitOnError)
	dir := fs.String("dir", "", "directory for the datadir and logs")
	addrFile := fs.String("addr-file", "", "write HOST:PORT here once the server is ready")
	fs.Parse(args)
	if *dir == "" || *addrFile == "" {
		return errors.New("mariadb: -dir and -addr-file are required")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return err
	}
	srv, err := startMariaDB(abs)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := srv.setup(); err != nil {
		return err
	}
	if err := atomicfile.Write(*addrFile, []byte(srv.addr+"\n"), atomicfile.Options{Perm: 0o644}); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	select {
	case <-ctx.Done():
		return nil
	case <-srv.exited:
		return fmt.Errorf("mariadbd exited on its own (%v); see %s", srv.waitErr, srv.errLog)
	}
}

type mariaDB struct {
	cmd     *exec.Cmd
	addr    string // 127.0.0.1:port
	sock    string
	sockDir string
	errLog  string
	exited  chan struct{}
	waitErr error
}

// mariaBin finds a MariaDB program: on PATH, else in /usr/sbin (where
// Debian puts mariadbd, outside a normal user's PATH).
func mariaBin(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: run `make mariadb` (installs Debian's mariadb-server)", name)
}

func startMariaDB(dir string) (*mariaDB, error) {
	server, err := mariaBin("mariadbd")
	if err != nil {
		return nil, err
	}
	datadir := filepath.Join(dir, "data")
	if err := initDatadir(datadir); err != nil {
		return nil, err
	}
	// A Unix socket path must stay under 108 bytes: keep it in a short
	// temp dir, not under the (possibly deep) bench dir.
	sockDir, err := os.MkdirTemp("", "peerdb-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &mariaDB{
		addr:    "127.0.0.1:" + strconv.Itoa(port),
		sock:    filepath.Join(sockDir, "sock"),
		sockDir: sockDir,
		errLog:  filepath.Join(dir, "error.log"),
		exited:  make(chan struct{}),
	}
	args := []string{
		"--no-defaults",
		"--datadir=" + datadir,
		"--bind-address=127.0.0.1",
		"--port=" + strconv.Itoa(port),
		"--socket=" + m.sock,
		"--pid-file=" + filepath.Join(sockDir, "pid"),
		"--log-error=" + m.errLog,
		"--skip-name-resolve",
		"--innodb-buffer-pool-size=64M",
	}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root") // mariadbd refuses root without it
	}
	m.cmd = exec.Command(server, args...)
	if err := m.cmd.Start(); err != nil {
		os.RemoveAll(sockDir)
		return nil, err
	}
	go func() {
		m.waitErr = m.cmd.Wait()
		close(m.exited)
	}()
	if err := m.waitReady(60 * time.Second); err != nil {
		m.stop()
		return nil, err
	}
	return m, nil
}

// initDatadir runs mariadb-install-db once per datadir.
func initDatadir(datadir string) error {
	if _, err := os.Stat(filepath.Join(datadir, "mysql")); err == nil {
		return nil
	}
	install, err := mariaBin("mariadb-install-db")
	if err != nil {
		return err
	}
	tmp := datadir + ".init"
	os.RemoveAll(tmp)
	u, err := user.Current()
	if err != nil {
		return err
	}
	cmd := exec.Command(install, "--no-defaults", "--datadir="+tmp, "--user="+u.Username,
		"--auth-root-authentication-method=normal", "--skip-test-db")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("mariadb-install-db: %v\n%s", err, benchstat.Tail(out))
	}
	os.RemoveAll(datadir)
	return os.Rename(tmp, datadir)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls until the server answers a query over its socket.
func (m *mariaDB) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if _, err := m.sql("SELECT 1"); err == nil {
			return nil
		}
		select {
		case <-m.exited:
			return fmt.Errorf("mariadbd exited while starting (%v); see %s", m.waitErr, m.errLog)
		case <-time.After(200 * time.Millisecond): // polling for readiness
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mariadbd not ready after %s; see %s", timeout, m.errLog)
		}
	}
}

// sql runs statements as root over the server's socket.
func (m *mariaDB) sql(stmts string) ([]byte, error) {
	client, err := mariaBin("mariadb")
	if err != nil {
		return nil, err
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(client, "--no-defaults", "--socket="+m.sock, "-uroot", "-N", "-B", "-e", stmts)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("mariadb: %v: %s", err, errb.String())
	}
	return out.Bytes(), nil
}

// setup makes a fresh, empty database for this run and its user.
func (m *mariaDB) setup() error {
	_, err := m.sql(fmt.Sprintf("DROP DATABASE IF EXISTS %[1]s; CREATE DATABASE %[1]s; "+
		"DROP USER IF EXISTS '%[2]s'@'127.0.0.1'; CREATE USER '%[2]s'@'127.0.0.1' IDENTIFIED BY '%[3]s'; "+
		"GRANT ALL ON %[1]s.* TO '%[2]s'@'127.0.0.1';",
		dbName, dbUser, dbPassword))
	return err
}

// stop ends the server by its pid: SIGTERM (a clean InnoDB shutdown),
// SIGKILL if it is still running a minute later.
func (m *mariaDB) stop() {
	defer os.RemoveAll(m.sockDir)
	select {
	case <-m.exited:
		return
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(time.Minute):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
}
