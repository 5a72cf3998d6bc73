// Command labmysql is the lab's metastore: a MySQL-compatible server
// (github.com/dolthub/go-mysql-server, in memory) that ado 2.3.0 works
// with, unlike Debian's MariaDB 10.11 (no `->>` operator; a second
// operation on one sample store fails to decode its stored results).
//
// It is a module of its own so adopipe's module does not depend on a SQL
// engine it never ships. Two shims make go-mysql-server behave as MySQL 8
// does for the statements ado sends (see shims.go).
//
//	labmysql -addr 127.0.0.1:3306 -database lab -user ado -password-file pw
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/memory"
	"github.com/dolthub/go-mysql-server/server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/analyzer"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:3306", "TCP address to listen on")
	dbs := flag.String("database", "lab", "comma-separated databases to create")
	user := flag.String("user", "", "the one account (empty: accept any user, no password)")
	pwFile := flag.String("password-file", "", "file holding the account's password")
	flag.Parse()
	// One info line per connection would bury the useful ones.
	logrus.SetLevel(logrus.WarnLevel)

	password := ""
	if *pwFile != "" {
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			log.Fatalf("labmysql: %v", err)
		}
		password = strings.TrimSpace(string(b))
	}
	s, err := newServer(*addr, strings.Split(*dbs, ","), *user, password)
	if err != nil {
		log.Fatalf("labmysql: %v", err)
	}
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		s.Close()
	}()
	fmt.Printf("labmysql: listening on %s\n", *addr)
	if err := s.Start(); err != nil {
		log.Fatalf("labmysql: %v", err)
	}
}

// newServer returns a server (not yet started) holding the databases in
// memory, with the shims installed and, when user is set, that one
// account.
func newServer(addr string, databases []string, user, password string) (*server.Server, error) {
	var dbs []sql.Database
	for _, name := range databases {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		db := memory.NewDatabase(name)
		// Foreign keys (ado's resource_relationships) need indexes on
		// the primary keys they reference.
		db.BaseDatabase.EnablePrimaryKeyIndexes()
		dbs = append(dbs, db)
	}
	pro := memory.NewDBProvider(dbs...)
	a := analyzer.NewBuilder(pro).AddPreAnalyzeRule(jsonInStringsRuleID, jsonInStrings).Build()
	engine := sqle.New(a, nil)
	if user != "" {
		mdb := engine.Analyzer.Catalog.MySQLDb
		ed := mdb.Editor()
		mdb.AddSuperUser(ed, user, "%", password)
		ed.Close()
	}
	cfg := server.Config{Protocol: "tcp", Address: addr}
	return server.NewServerWithHandler(cfg, engine, sql.NewContext, memory.NewSessionBuilder(pro), nil,
		func(h mysql.Handler) (mysql.Handler, error) { return rewritingHandler{h}, nil })
}

// rewritingHandler passes every query through rewriteDDL first.
type rewritingHandler struct{ mysql.Handler }

func (h rewritingHandler) ComQuery(ctx context.Context, c *mysql.Conn, q string, cb mysql.ResultSpoolFn) error {
	return h.Handler.ComQuery(ctx, c, rewriteDDL(q), cb)
}

func (h rewritingHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, q string, cb mysql.ResultSpoolFn) (string, error) {
	return h.Handler.ComMultiQuery(ctx, c, rewriteDDL(q), cb)
}
