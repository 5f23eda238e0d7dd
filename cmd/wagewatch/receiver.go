package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wagewatch/wagewatch/shared/notify"
)

func init() {
	register("receiver", command{
		summary: "play the departments' webhooks and an SMS gateway locally",
		run:     runReceiver,
	})
}

// runReceiver serves notify.Receiver: POST /hook/<dept_id> (signed webhooks)
// and POST /sms (an HTTP SMS gateway sink). Locally one secret, read from the
// environment variable --secret-env, signs the webhooks of every department
// and is the gateway's key (docs/webhook.md).
func runReceiver(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9099", "listen address")
	secretEnv := fs.String("secret-env", "WW_WEBHOOK_SECRET", "environment variable holding the webhook and gateway secret")
	logPath := fs.String("log", "", "append one JSON line per received request to this file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: wagewatch receiver [--addr 127.0.0.1:9099] [--secret-env WW_WEBHOOK_SECRET] [--log FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	secret := os.Getenv(*secretEnv)
	if secret == "" {
		fmt.Fprintf(stderr, "wagewatch receiver: environment variable %s is empty; set it to the webhook secret\n", *secretEnv)
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))

	cfg := notify.ReceiverConfig{
		WebhookSecret: notify.StaticSecret([]byte(secret)),
		GatewaySecret: notify.StaticSecret([]byte(secret)),
		Out:           stdout,
		Now:           time.Now,
		Logger:        logger,
	}
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "wagewatch receiver: open log: %v\n", err)
			return 1
		}
		defer f.Close()
		cfg.Log = f
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "wagewatch receiver: listen on %s: %v\n", *addr, err)
		return 1
	}
	srv := &http.Server{
		Handler:           notify.NewReceiver(cfg),
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Info("receiver listening", "addr", ln.Addr().String(), "webhooks", "POST /hook/<dept_id>", "sms", "POST /sms")

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		fmt.Fprintf(stderr, "wagewatch receiver: serve: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "wagewatch receiver: shutdown: %v\n", err)
		return 1
	}
	if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "wagewatch receiver: serve: %v\n", err)
		return 1
	}
	return 0
}
