package watch

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/fsnotify/fsnotify"
	"github.com/vishvananda/netlink"

	"github.com/hostwall/hostwall/engine"
	"github.com/hostwall/hostwall/policy"
)

// FileSource watches rules files through inotify on their directories,
// not on the files: an editor's save (write a temporary file, rename it
// over the old one) and a Kubernetes ConfigMap update (a new "..data"
// symlink renamed over the old) replace the file, and a watch on the
// file itself would stay on the old inode. A file that is a symlink has
// the directory of its target watched too.
func FileSource(files []string) Source {
	return SourceFunc(func(ctx context.Context, out chan<- Event) error {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("inotify: %w", err)
		}
		defer w.Close()
		interesting := map[string][]string{} // dir → base names
		watch := func(p string) error {
			dir, base := filepath.Split(filepath.Clean(p))
			dir = filepath.Clean(dir)
			if _, ok := interesting[dir]; !ok {
				if err := w.Add(dir); err != nil {
					return fmt.Errorf("watch %s: %w", dir, err)
				}
			}
			if !slices.Contains(interesting[dir], base) {
				interesting[dir] = append(interesting[dir], base)
			}
			return nil
		}
		for _, f := range files {
			abs, err := filepath.Abs(f)
			if err != nil {
				return err
			}
			if err := watch(abs); err != nil {
				return err
			}
			if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
				if err := watch(real); err != nil {
					return err
				}
			}
		}
		for {
			select {
			case <-ctx.Done():
				return nil
			case err, ok := <-w.Errors:
				if !ok {
					return nil
				}
				// An inotify queue overflow: re-read to be sure.
				if !send(ctx, out, Event{Kind: Files, What: "inotify: " + err.Error()}) {
					return nil
				}
			case ev, ok := <-w.Events:
				if !ok {
					return nil
				}
				if ev.Op == fsnotify.Chmod {
					continue
				}
				dir, base := filepath.Split(ev.Name)
				names := interesting[filepath.Clean(dir)]
				// "..data" and its siblings are a ConfigMap's swap.
				if !slices.Contains(names, base) && !strings.HasPrefix(base, "..") {
					continue
				}
				if !send(ctx, out, Event{Kind: Files, What: fmt.Sprintf("%s: %s", ev.Name, strings.ToLower(ev.Op.String()))}) {
					return nil
				}
			}
		}
	})
}

// SignalSource turns SIGHUP into a reload. ch, when not nil, is a
// channel already registered for SIGHUP with signal.Notify (so that a
// SIGHUP arriving before the source runs is not fatal).
func SignalSource(ch chan os.Signal) Source {
	return SourceFunc(func(ctx context.Context, out chan<- Event) error {
		if ch == nil {
			ch = make(chan os.Signal, 1)
			signal.Notify(ch, syscall.SIGHUP)
		}
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-ch:
				if !send(ctx, out, Event{Kind: Signal, What: "SIGHUP"}) {
					return nil
				}
			}
		}
	})
}

// KernelSource reports the changes a Host's backend sees in scope
// (nf_tables events, or the x_tables probe).
func KernelSource(h *engine.Host, scope engine.Scope) Source {
	return SourceFunc(func(ctx context.Context, out chan<- Event) error {
		ch := make(chan engine.Change)
		errc := make(chan error, 1)
		go func() { errc <- h.Watch(ctx, scope, ch) }()
		for {
			select {
			case err := <-errc:
				return err
			case c := <-ch:
				if !send(ctx, out, Event{Kind: Kernel, What: c.What}) {
					return <-errc
				}
			}
		}
	})
}

// LinkSource reports interfaces, addresses and default routes coming
// and going (rtnetlink), for hooks marked external-interfaces. It reports
// only changes that can change the expansion: a link added, removed or
// renamed, a default route added or removed.
func LinkSource() Source {
	return SourceFunc(func(ctx context.Context, out chan<- Event) error {
		done := make(chan struct{})
		defer close(done)
		links := make(chan netlink.LinkUpdate, 16)
		routes := make(chan netlink.RouteUpdate, 16)
		errs := make(chan error, 2)
		cb := func(err error) {
			select {
			case errs <- err:
			default:
			}
		}
		if err := netlink.LinkSubscribeWithOptions(links, done, netlink.LinkSubscribeOptions{ErrorCallback: cb}); err != nil {
			return fmt.Errorf("subscribe to link changes: %w", err)
		}
		if err := netlink.RouteSubscribeWithOptions(routes, done, netlink.RouteSubscribeOptions{ErrorCallback: cb}); err != nil {
			return fmt.Errorf("subscribe to route changes: %w", err)
		}
		known := map[int32]string{}
		for {
			var what string
			select {
			case <-ctx.Done():
				return nil
			case err := <-errs:
				// Lost updates (ENOBUFS): look again.
				what = "rtnetlink: " + err.Error()
			case u, ok := <-links:
				if !ok {
					return ErrStopped
				}
				name := u.Attrs().Name
				switch {
				case u.Header.Type == syscall.RTM_DELLINK:
					delete(known, u.Index)
					what = "interface " + name + " removed"
				case known[u.Index] != name:
					known[u.Index] = name
					what = "interface " + name + " added"
				default:
					continue // a state change of a known link
				}
			case u, ok := <-routes:
				if !ok {
					return ErrStopped
				}
				if u.Dst != nil {
					if ones, _ := u.Dst.Mask.Size(); ones != 0 {
						continue
					}
				}
				verb := "added"
				if u.Type == syscall.RTM_DELROUTE {
					verb = "removed"
				}
				what = fmt.Sprintf("default route via link %d %s", u.LinkIndex, verb)
			}
			if !send(ctx, out, Event{Kind: Links, What: what}) {
				return nil
			}
		}
	})
}

// ScopedSources are the sources a desired state calls for on a Host:
// its backend's change notifications for the chains it touches, and
// interface changes when a hook is marked external-interfaces.
func ScopedSources(h *engine.Host, scope engine.Scope) func(ds []*policy.Desired) []Source {
	return func(ds []*policy.Desired) []Source {
		s := engine.ScopeOf(ds)
		s.Interval, s.FullEvery = scope.Interval, scope.FullEvery
		out := []Source{KernelSource(h, s)}
		if HasExternal(ds) {
			out = append(out, LinkSource())
		}
		return out
	}
}

// HasExternal reports whether a hook is marked external-interfaces.
func HasExternal(ds []*policy.Desired) bool {
	for _, d := range ds {
		for _, dt := range d.Tables {
			for _, h := range dt.Hooks {
				if h.External != nil {
					return true
				}
			}
		}
	}
	return false
}

func send(ctx context.Context, out chan<- Event, e Event) bool {
	select {
	case out <- e:
		return true
	case <-ctx.Done():
		return false
	}
}
