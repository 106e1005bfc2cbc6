package main

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/hostwall/hostwall/engine/watch"
)

// sdNotify sends state (newline-separated VAR=value lines, such as
// "READY=1\nSTATUS=…") to the service manager as sd_notify(3) does: one
// datagram to the AF_UNIX socket $NOTIFY_SOCKET names ("@" for the
// abstract namespace, which Go's net package maps). Without
// $NOTIFY_SOCKET (not run by systemd, or not Type=notify) it does
// nothing.
func sdNotify(state string) error {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return nil
	}
	if name[0] != '/' && name[0] != '@' {
		return fmt.Errorf("NOTIFY_SOCKET=%q: not an AF_UNIX socket path", name)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// notifyReconciles wraps watch's OnReconcile callback: once the first
// reconcile has put the rules files in the kernel, it tells systemd
// READY=1 (Type=notify: units ordered after hostwall-watch.service start
// only then, and a watcher that never gets there fails its start
// timeout); every reconcile updates STATUS=, which systemctl status
// shows. notify is sdNotify, or a test's recorder.
func notifyReconciles(next func(watch.Result), notify func(string) error, warn func(error)) func(watch.Result) {
	var (
		mu    sync.Mutex
		ready bool
		n     int
	)
	return func(res watch.Result) {
		if next != nil {
			next(res)
		}
		mu.Lock()
		defer mu.Unlock()
		n++
		var status string
		switch {
		case res.Err != nil:
			status = "reconcile failed: " + firstLine(res.Err.Error())
		case res.Changed:
			status = fmt.Sprintf("in place; reconcile %d wrote %d change(s)", n, len(res.Changes()))
		default:
			status = fmt.Sprintf("in place; reconcile %d: no change", n)
		}
		msg := "STATUS=" + status
		if !ready && res.Err == nil {
			ready = true
			msg = "READY=1\n" + msg
		}
		if err := notify(msg); err != nil && warn != nil {
			warn(err)
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
