// Command raybench is the Ray side of bench/*.sh:
//
//	raybench proxy -target URL -addr-file FILE [-listen ADDR]
//	                                             counting proxy in front of a Ray head
//	raybench reset ADDR                          zero the proxy's counts
//	raybench stats ADDR                          print the counts as one JSON line
//	raybench sum FILE                            add up stats lines: totals and per run
//	raybench idle [-timeout 2m] ADDR             wait until no job is PENDING or RUNNING
//	raybench fakehead -addr-file FILE            a stand-in Jobs API (internal/fakeray)
//
// fakehead is the cluster of the plan benchmarks: a plan asks its cluster
// for the Ray version, and a head that answers at once on loopback keeps
// the network out of what they compare. The proxy listens on a free
// loopback port (or -listen), writes its http address to
// FILE and runs until SIGTERM or SIGINT. See bench/internal/countproxy.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/adopipe/adopipe/bench/internal/countproxy"
	"github.com/adopipe/adopipe/bench/internal/rayidle"
	"github.com/adopipe/adopipe/internal/atomicfile"
	"github.com/adopipe/adopipe/internal/fakeray"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "proxy":
		err = proxy(args)
	case "reset":
		err = call(args, http.MethodPost, "/__bench/reset", io.Discard)
	case "stats":
		err = call(args, http.MethodGet, "/__bench/stats", os.Stdout)
	case "sum":
		err = sum(args)
	case "idle":
		err = idle(args)
	case "fakehead":
		err = fakeHead(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "raybench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: raybench proxy|reset|stats|sum|idle|fakehead ... (see go doc ./bench/cmd/raybench)")
	os.Exit(2)
}

func proxy(args []string) error {
	fs := flag.NewFlagSet("proxy", flag.ExitOnError)
	target := fs.String("target", "", "Ray head address, http://host:port")
	addrFile := fs.String("addr-file", "", "write the proxy's address here")
	// peer.sh's lab path needs port 8265: ado --remote takes the service
	// port of its port-forward from its clusterUrl, which is the proxy.
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on")
	fs.Parse(args)
	if *target == "" || *addrFile == "" {
		return errors.New("proxy: -target and -addr-file are required")
	}
	p, err := countproxy.New(*target)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(*addrFile, []byte("http://"+ln.Addr().String()+"\n"), atomicfile.Options{Perm: 0o644}); err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func call(args []string, method, path string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("want one address")
	}
	return countproxy.Call(args[0], method, path, out)
}

// sum adds up the JSON stats lines of FILE.
func sum(args []string) error {
	if len(args) != 1 {
		return errors.New("sum: want one file")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	var total countproxy.Stats
	runs := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var s countproxy.Stats
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("sum: %s: %v", args[0], err)
		}
		runs++
		total.Requests += s.Requests
		total.Uploads += s.Uploads
		total.UploadedBytes += s.UploadedBytes
		total.Submits += s.Submits
		total.RequestBytes += s.RequestBytes
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if runs == 0 {
		return errors.New("sum: no runs")
	}
	fmt.Printf("runs=%d uploaded_bytes=%d uploads=%d submits=%d requests=%d per_run_uploaded_bytes=%d per_run_submits=%.2f\n",
		runs, total.UploadedBytes, total.Uploads, total.Submits, total.Requests,
		total.UploadedBytes/int64(runs), float64(total.Submits)/float64(runs))
	return nil
}

// idle waits until the cluster runs no job, so one run's jobs do not slow
// the next run down.
func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("idle: want one address")
	}
	if err := rayidle.Wait(fs.Arg(0), *timeout, 100*time.Millisecond); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	return nil
}

// fakeHead serves internal/fakeray on a free loopback port until SIGTERM
// or SIGINT.
func fakeHead(args []string) error {
	fs := flag.NewFlagSet("fakehead", flag.ExitOnError)
	addrFile := fs.String("addr-file", "", "write the head's address here")
	fs.Parse(args)
	if *addrFile == "" {
		return errors.New("fakehead: -addr-file is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	f := fakeray.Start()
	defer f.Close()
	if err := atomicfile.Write(*addrFile, []byte(f.URL+"\n"), atomicfile.Options{Perm: 0o644}); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
