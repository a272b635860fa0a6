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
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/sluicehq/sluice/internal/config"
	"github.com/sluicehq/sluice/internal/setup"
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
				err := a.reload(r.Context(), s, p, nil)
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
						switch err := a.reload(wctx, t.s, t.plugin, nil); {
						case err == nil:
							a.log.Info("plugin file changed: swapped", "stream", t.s.Name(), "plugin", t.plugin)
						case errors.Is(err, stream.ErrUnchanged), errors.Is(err, stream.ErrNotRunning), wctx.Err() != nil:
						default:
							a.log.Error("plugin file changed: new version refused; the running version keeps going", "stream", t.s.Name(), "plugin", t.plugin, "err", err)
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

// reload swaps plugin name of stream s to the current content of its
// module file, with p as its new config section when p is not nil (else
// the section it runs with). The module is compiled and initialized here,
// off the stream's hot path; the stream self-tests it and swaps it on every
// worker or on none.
func (a *app) reload(ctx context.Context, s *stream.Stream, name string, p *config.Plugin) error {
	key := [2]string{s.Name(), name}
	a.mu.Lock()
	cur, ok := a.plugins[key]
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("stream %q has no plugin %q (plugins: %v)", s.Name(), name, s.Plugins())
	}
	if p != nil {
		cur = *p
	}
	if err := setup.Reload(ctx, a.env, s, cur); err != nil {
		return err
	}
	a.mu.Lock()
	a.plugins[key] = cur
	a.mu.Unlock()
	return nil
}

// reloadConfig (SIGHUP) re-reads the config file and hot-swaps every
// plugin whose module file or config section changed, each on its own
// goroutine (joined by a.wait). Every other change needs a restart: each
// one is logged, with its old and new value, and not applied.
func (a *app) reloadConfig(ctx context.Context, o runOptions, streams []*stream.Stream) {
	cfg, pending, err := loadConfig(o.config, o.shard)
	if err == nil && pending != nil {
		err = pending // a plugin module missing on disk
	}
	if err != nil {
		a.log.Error("SIGHUP: config refused; keeping the running one", "err", err)
		return
	}
	for _, ch := range configChanges(a.cfg, cfg) {
		a.log.Warn("SIGHUP: change not applied; restart to apply it", "change", ch)
	}
	for _, s := range streams {
		var found bool
		for _, sc := range cfg.Streams {
			if sc.Name != s.Name() {
				continue
			}
			found = true
			names := s.Plugins()
			var old config.Stream
			for _, oc := range a.cfg.Streams {
				if oc.Name == sc.Name {
					old = oc
				}
			}
			for _, ch := range streamChanges(old, sc) {
				a.log.Warn("SIGHUP: change not applied; restart to apply it", "stream", s.Name(), "change", ch)
			}
			if len(sc.Plugins) != len(names) {
				a.log.Warn("SIGHUP: change not applied; restart to apply it", "stream", s.Name(),
					"change", fmt.Sprintf("the plugin chain has %d plugins, the running one %d", len(sc.Plugins), len(names)))
				continue
			}
			for j := range sc.Plugins {
				p := sc.Plugins[j]
				if got := setup.PluginName(p); got != names[j] {
					a.log.Warn("SIGHUP: change not applied; restart to apply it", "stream", s.Name(),
						"change", fmt.Sprintf("plugin %d is named %q, the running one %q", j+1, got, names[j]))
					continue
				}
				a.wait.Add(1)
				go func() {
					defer a.wait.Done()
					switch err := a.reload(ctx, s, names[j], &p); {
					case err == nil:
						a.log.Info("SIGHUP: plugin swapped", "stream", s.Name(), "plugin", names[j])
					case errors.Is(err, stream.ErrUnchanged):
					default:
						a.log.Error("SIGHUP: plugin reload refused; the running version keeps going", "stream", s.Name(), "plugin", names[j], "err", err)
					}
				}()
			}
		}
		if !found {
			a.log.Warn("SIGHUP: change not applied; restart to apply it", "stream", s.Name(), "change", "the stream is no longer in the config; it keeps running")
		}
	}
	for _, sc := range cfg.Streams {
		if !slices.ContainsFunc(streams, func(s *stream.Stream) bool { return s.Name() == sc.Name }) {
			a.log.Warn("SIGHUP: change not applied; restart to apply it", "change", fmt.Sprintf("new stream %q", sc.Name))
		}
	}
}

// configChanges lists the differences of the process-wide tables
// ([cassandra], [runtime], [admin], [checkpoint]), which a SIGHUP cannot
// apply.
func configChanges(old, cur *config.Config) []string {
	var out []string
	out = diffValues("cassandra", reflect.ValueOf(old.Cassandra), reflect.ValueOf(cur.Cassandra), out)
	out = diffValues("runtime", reflect.ValueOf(old.Runtime), reflect.ValueOf(cur.Runtime), out)
	out = diffValues("admin", reflect.ValueOf(old.Admin), reflect.ValueOf(cur.Admin), out)
	out = diffValues("checkpoint", reflect.ValueOf(old.Checkpoint), reflect.ValueOf(cur.Checkpoint), out)
	return out
}

// streamChanges lists the differences of one stream outside its plugins'
// modules and config sections, which a SIGHUP cannot apply.
func streamChanges(old, cur config.Stream) []string {
	var out []string
	out = diffValues("shard", reflect.ValueOf(old.Shard), reflect.ValueOf(cur.Shard), out)
	out = diffValues("on_error", reflect.ValueOf(old.OnError), reflect.ValueOf(cur.OnError), out)
	out = diffValues("source", reflect.ValueOf(old.Source), reflect.ValueOf(cur.Source), out)
	if len(old.Sinks) != len(cur.Sinks) {
		out = append(out, fmt.Sprintf("sinks: %d → %d", len(old.Sinks), len(cur.Sinks)))
	} else {
		for i := range cur.Sinks {
			out = diffValues(fmt.Sprintf("sink[%d]", i), reflect.ValueOf(old.Sinks[i]), reflect.ValueOf(cur.Sinks[i]), out)
		}
	}
	return out
}

// diffValues appends "path: old → new" for every field of the structs a
// and b (by their toml names) that differs; fields without a toml name
// (lines) are skipped.
func diffValues(path string, a, b reflect.Value, out []string) []string {
	if a.Kind() == reflect.Struct {
		t := a.Type()
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
			if name == "" || name == "-" || !t.Field(i).IsExported() {
				continue
			}
			out = diffValues(path+"."+name, a.Field(i), b.Field(i), out)
		}
		return out
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		out = append(out, fmt.Sprintf("%s: %v → %v", path, a.Interface(), b.Interface()))
	}
	return out
}
