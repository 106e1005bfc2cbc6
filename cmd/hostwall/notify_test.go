package main

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hostwall/hostwall/engine/watch"
)

// sdNotify sends one datagram to $NOTIFY_SOCKET, as systemd reads it.
func TestSdNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		name := filepath.Join(t.TempDir(), "notify")
		if abstract {
			name = "@hostwall-test-" + strings.ReplaceAll(t.Name(), "/", "-") + time.Now().Format("150405.000000000")
		}
		ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv("NOTIFY_SOCKET", name)
		if err := sdNotify("READY=1\nSTATUS=ok"); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 256)
		ln.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := ln.Read(buf)
		ln.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:n]); got != "READY=1\nSTATUS=ok" {
			t.Errorf("abstract=%v: got %q", abstract, got)
		}
	}
	t.Setenv("NOTIFY_SOCKET", "")
	if err := sdNotify("READY=1"); err != nil {
		t.Errorf("without NOTIFY_SOCKET: %v", err)
	}
	t.Setenv("NOTIFY_SOCKET", "vsock:2:1")
	if err := sdNotify("READY=1"); err == nil {
		t.Error("an unsupported NOTIFY_SOCKET gave no error")
	}
}

// READY=1 goes with the first reconcile that succeeded, once; every
// reconcile sets STATUS=.
func TestNotifyReconciles(t *testing.T) {
	var sent []string
	var noted int
	f := notifyReconciles(func(watch.Result) { noted++ }, func(s string) error { sent = append(sent, s); return nil }, nil)
	f(watch.Result{Err: errors.New("kernel said no\nmore")})
	f(watch.Result{})
	f(watch.Result{})
	want := []string{
		"STATUS=reconcile failed: kernel said no",
		"READY=1\nSTATUS=in place; reconcile 2: no change",
		"STATUS=in place; reconcile 3: no change",
	}
	if noted != 3 || strings.Join(sent, "|") != strings.Join(want, "|") {
		t.Errorf("noted %d, sent %q, want %q", noted, sent, want)
	}
}
