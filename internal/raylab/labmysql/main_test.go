package main

import (
	"database/sql"
	"net"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func TestRewriteDDL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"CREATE TABLE t (r TEXT(3145728), PRIMARY KEY (id))", "CREATE TABLE t (r MEDIUMTEXT, PRIMARY KEY (id))"},
		{"create table t (a text (10), b Text(20000), c TEXT(5000000))", "create table t (a TINYTEXT, b MEDIUMTEXT, c LONGTEXT)"},
		{"ALTER TABLE t ADD COLUMN c TEXT(100)", "ALTER TABLE t ADD COLUMN c TEXT"},
		{"CREATE TABLE t (c TEXT(99999999999999999999999))", "CREATE TABLE t (c LONGTEXT)"},
		// Not DDL: a string that looks like the type is data, kept as is.
		{"INSERT INTO t VALUES ('TEXT(10)')", "INSERT INTO t VALUES ('TEXT(10)')"},
		{"CREATE TABLE t (c LONGTEXT, d CONTEXT(3))", "CREATE TABLE t (c LONGTEXT, d CONTEXT(3))"},
	} {
		if got := rewriteDDL(tc.in); got != tc.want {
			t.Errorf("rewriteDDL(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// startServer serves one database "lab" with account ado/secret on a free
// loopback port and returns its address.
func startServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	s, err := newServer(addr, []string{"lab"}, "ado", "secret")
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	t.Cleanup(func() { s.Close() })
	return addr
}

func open(t *testing.T, addr, password string) *sql.DB {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = "ado", password, "tcp", addr, "lab"
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The statements ado 2.3.0 sends that go-mysql-server alone rejects work
// through the server, with MySQL 8's results.
func TestServerSpeaksAdosSQL(t *testing.T) {
	addr := startServer(t)
	var db *sql.DB
	// Start returns asynchronously: poll until the server answers.
	for i := 0; ; i++ {
		db = open(t, addr, "secret")
		if err := db.Ping(); err == nil {
			break
		} else if i == 200 {
			t.Fatalf("server at %s never answered: %v", addr, err)
		}
	}
	mustExec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec("CREATE TABLE sqlsource_default (identifier VARCHAR(768) NOT NULL, representation TEXT(3145728), PRIMARY KEY (identifier))")
	mustExec("CREATE TABLE results (id INT PRIMARY KEY, data JSON)")
	mustExec(`INSERT INTO results VALUES (1, ?), (2, ?), (3, ?)`,
		`{"a": {"b": "replay"}}`, `{"a": {"b": "robotic_lab"}}`, `{"c": "\"replay\""}`)
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	// ado's replay query: the JSON string "replay" matches 'replay'; the
	// JSON string "\"replay\"" (row 3) matches '"replay"'.
	q := `SELECT COUNT(*) FROM results WHERE coalesce(json_extract(data, '$.a.b'), json_extract(data, '$.c')) IN ('replay', '"replay"')`
	if n := count(q); n != 2 {
		t.Errorf("replay query matched %d rows, want 2 (rows 1 and 3)", n)
	}
	if n := count(`SELECT COUNT(*) FROM results WHERE json_extract(data, '$.a.b') IN ('robotic_lab')`); n != 1 {
		t.Errorf("IN ('robotic_lab') matched %d rows, want 1", n)
	}
	// ado show ... --use-latest: the ->> operator.
	var name string
	if err := db.QueryRow(`SELECT CAST(data ->> '$.a.b' AS CHAR) FROM results WHERE id = 2`).Scan(&name); err != nil || name != "robotic_lab" {
		t.Errorf("->> gave %q, %v; want robotic_lab", name, err)
	}
	var big string
	mustExec("INSERT INTO sqlsource_default VALUES ('x', ?)", strings.Repeat("y", 100000))
	if err := db.QueryRow("SELECT representation FROM sqlsource_default").Scan(&big); err != nil || len(big) != 100000 {
		t.Errorf("TEXT(3145728) column kept %d bytes, %v; want 100000", len(big), err)
	}
}

func TestServerRefusesWrongPassword(t *testing.T) {
	addr := startServer(t)
	good := open(t, addr, "secret")
	for i := 0; good.Ping() != nil; i++ {
		if i == 200 {
			t.Fatal("server never answered")
		}
	}
	err := open(t, addr, "wrong").Ping()
	if err == nil || !strings.Contains(err.Error(), "Access denied") {
		t.Fatalf("wrong password: got %v, want Access denied", err)
	}
}
