// Command s3local serves an in-memory S3 for the local stack, using
// github.com/johannesboyne/gofakes3. fauxqs's own S3 limits a single PutObject
// to 11 MiB and fails CompleteMultipartUpload with the Go SDK's quoted ETags,
// so a bank's 200 MB file could not go through it; gofakes3 takes the SDK's
// multipart uploads as they are.
//
// It serves path-style addressing only (WW_S3_PATH_STYLE=true) and keeps
// everything in memory: stopping it forgets every object.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18002", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(*addr, log); err != nil {
		log.Error("s3local stopped", "err", err)
		os.Exit(1)
	}
}

func run(addr string, log *slog.Logger) error {
	faker := gofakes3.New(s3mem.New(), gofakes3.WithHostBucket(false), gofakes3.WithoutVersioning())
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_health", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.Handle("/", faker.Server())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("s3local listening", "addr", ln.Addr().String())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
