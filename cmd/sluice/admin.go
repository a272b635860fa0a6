package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sluicehq/sluice/internal/stream"
)

// adminServer serves GET /metrics, GET /healthz and POST /reload.
type adminServer struct {
	srv *http.Server
}

func (s *adminServer) close() {
	if s == nil || s.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// startAdmin starts the admin HTTP server when [admin] listen is set.
// /metrics is open (read-only, like any Prometheus target); /reload needs
// the bearer token named by admin.token_env and is disabled without one.
func (a *app) startAdmin(streams []*stream.Stream) (*adminServer, error) {
	if a.cfg.Admin.Listen == "" {
		return &adminServer{}, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.env.Metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("POST /reload", func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
			http.Error(w, "unauthorized: send Authorization: Bearer <token from admin.token_env>", http.StatusUnauthorized)
			return
		}
		st, pl := r.URL.Query().Get("stream"), r.URL.Query().Get("plugin")
		type res struct {
			Stream string `json:"stream"`
			Plugin string `json:"plugin"`
			Result string `json:"result"`
			Error  string `json:"error,omitempty"`
		}
		var out []res
		code := http.StatusOK
		for _, s := range streams {
			if st != "" && s.Name() != st {
				continue
			}
			for _, p := range s.Plugins() {
				if pl != "" && p != pl {
					continue
				}
				err := s.Reload(r.Context(), p, nil)
				rr := res{Stream: s.Name(), Plugin: p, Result: "swapped"}
				switch {
				case errors.Is(err, stream.ErrUnchanged):
					rr.Result = "unchanged"
				case err != nil:
					rr.Result, rr.Error = "refused", err.Error()
					code = http.StatusUnprocessableEntity
				}
				out = append(out, rr)
			}
		}
		if len(out) == 0 {
			http.Error(w, fmt.Sprintf("no plugin matches stream=%q plugin=%q", st, pl), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", a.cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("admin.listen %s: %w", a.cfg.Admin.Listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	a.log.Info("admin server listening", "addr", ln.Addr().String(), "reload_enabled", a.secrets.AdminToken != "")
	if ta, ok := ln.Addr().(*net.TCPAddr); ok && !ta.IP.IsLoopback() {
		a.log.Warn("the admin server is plain HTTP and listens beyond localhost: put it behind TLS or a private network", "addr", ln.Addr().String())
	}
	return &adminServer{srv: srv}, nil
}

func (a *app) authorized(r *http.Request) bool {
	tok := a.secrets.AdminToken
	if tok == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(tok)) == 1
}

// watchPlugins reloads a plugin when its .wasm file is replaced or
// rewritten. We watch the directories (not the files) with fsnotify, the
// de-facto standard Go wrapper of inotify/kqueue, because an atomic rename
// replaces the inode a file watch would follow. Events are debounced so a
// copy in several writes triggers one reload.
func (a *app) watchPlugins(ctx context.Context, streams []*stream.Stream) (stop func()) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		a.log.Warn("plugin file watching disabled", "err", err)
		return func() {}
	}
	type target struct {
		s      *stream.Stream
		plugin string
	}
	byPath := map[string][]target{}
	for i, sc := range a.cfg.Streams {
		if i >= len(streams) {
			break
		}
		names := streams[i].Plugins()
		for j, p := range sc.Plugins {
			abs, err := filepath.Abs(p.Path)
			if err != nil {
				continue
			}
			byPath[abs] = append(byPath[abs], target{streams[i], names[j]})
			_ = w.Add(filepath.Dir(abs))
		}
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		pending := map[string]bool{}
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		for {
			select {
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				abs, _ := filepath.Abs(ev.Name)
				if _, ok := byPath[abs]; ok && ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename) != 0 {
					pending[abs] = true
					timer.Reset(300 * time.Millisecond)
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				a.log.Warn("plugin file watcher", "err", err)
			case <-timer.C:
				for p := range pending {
					for _, t := range byPath[p] {
						if err := t.s.Reload(wctx, t.plugin, nil); err == nil {
							a.log.Info("plugin file changed: swapped", "stream", t.s.Name(), "plugin", t.plugin)
						}
					}
				}
				pending = map[string]bool{}
			case <-wctx.Done():
				return
			}
		}
	}()
	return func() {
		cancel()
		_ = w.Close()
		<-done
	}
}

// reloadConfig (SIGHUP) re-reads the config file and hot-swaps every
// plugin whose module file or config section changed. Other changes need
// a restart; they are logged, not applied.
func (a *app) reloadConfig(ctx context.Context, o runOptions, streams []*stream.Stream) {
	cfg, err := loadConfig(o.config, o.shard)
	if err != nil {
		a.log.Error("SIGHUP: config refused; keeping the running one", "err", err)
		return
	}
	for _, s := range streams {
		var found bool
		for _, sc := range cfg.Streams {
			if sc.Name != s.Name() {
				continue
			}
			found = true
			names := s.Plugins()
			if len(sc.Plugins) != len(names) {
				a.log.Warn("SIGHUP: the plugin chain's length changed; restart to apply", "stream", s.Name())
				continue
			}
			for j := range sc.Plugins {
				p := sc.Plugins[j]
				go func() {
					if err := s.Reload(ctx, names[j], &p); err != nil && !errors.Is(err, stream.ErrUnchanged) {
						a.log.Error("SIGHUP: plugin reload refused", "stream", s.Name(), "plugin", names[j], "err", err)
					}
				}()
			}
		}
		if !found {
			a.log.Warn("SIGHUP: stream no longer in the config; it keeps running until restart", "stream", s.Name())
		}
	}
}
