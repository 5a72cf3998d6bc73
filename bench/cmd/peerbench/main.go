// Command peerbench is the measuring side of bench/peer.sh: adopipe against
// `ado --remote` on the same Ray cluster (the lab or a local head), the
// same plugin and the same operation, every figure taken from the wire or
// from Ray.
//
//	peerbench mariadb -dir DIR -addr-file FILE   run a MariaDB metastore on loopback
//	peerbench compare ...                        time two commands round by round
//	peerbench results -db HOST:PORT [-db-user U -db-name D -db-password-file F] \
//	    -submission ID -offset K                 check a job's stored results
//	peerbench forget -db HOST:PORT               empty the sample store's measurements
//	peerbench envdisk DIR...                     disk taken by runtime env dirs
//
// See each subcommand's file for what it measures and how.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "mariadb":
		err = runMariaDB(args)
	case "compare":
		err = runCompare(args)
	case "results":
		err = runResults(args)
	case "forget":
		err = runForget(args)
	case "envdisk":
		err = runEnvDisk(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "peerbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: peerbench mariadb|compare|results|forget|envdisk ... (see go doc ./bench/cmd/peerbench)")
	os.Exit(2)
}
