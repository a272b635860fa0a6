// Package kubernetes validates the manifests of this folder offline: each
// document is decoded strictly (unknown fields refused) into the
// Kubernetes API type its kind names (k8s.io/api batch/v1, core/v1), and
// the config of the ConfigMap is parsed by sluice's own config parser and
// checked against the Job (shard count = completions, Cassandra store and
// lease, the shard flag). kubeconform would download its schemas, which
// this machine cannot; the API types are the schema.
//
// A separate module, so that k8s.io/api is a dependency of this test
// only, not of sluice. Run with `make test-manifests` (part of make test).
package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/sluicehq/sluice/internal/config"
)

type doc struct {
	file string
	kind string
	obj  any
}

func decode(t *testing.T, path string) []doc {
	t.Helper()
	docs, err := decodeFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// decodeFile splits a file into YAML documents and decodes each strictly
// into the type of its apiVersion and kind.
func decodeFile(path string) ([]doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []doc
	for i, part := range bytes.Split(b, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(part))) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(part)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %v", path, i, err)
		}
		var tm struct{ APIVersion, Kind string }
		if err := json.Unmarshal(js, &tm); err != nil {
			return nil, fmt.Errorf("%s document %d: %v", path, i, err)
		}
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "batch/v1 Job":
			obj = &batchv1.Job{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Secret":
			obj = &corev1.Secret{}
		case "v1 PersistentVolumeClaim":
			obj = &corev1.PersistentVolumeClaim{}
		default:
			return nil, fmt.Errorf("%s document %d: %s %s: no API type to check it against", path, i, tm.APIVersion, tm.Kind)
		}
		dec := json.NewDecoder(bytes.NewReader(js))
		dec.DisallowUnknownFields()
		if err := dec.Decode(obj); err != nil {
			return nil, fmt.Errorf("%s document %d (%s): %v", path, i, tm.Kind, err)
		}
		out = append(out, doc{file: filepath.Base(path), kind: tm.Kind, obj: obj})
	}
	return out, nil
}

func stripComments(b []byte) []byte {
	var out [][]byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(out, l)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

func TestManifests(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	byName := map[string]any{}
	var jobs []*batchv1.Job
	for _, f := range files {
		for _, d := range decode(t, f) {
			switch o := d.obj.(type) {
			case *batchv1.Job:
				jobs = append(jobs, o)
				byName["Job/"+o.Name] = o
			case *corev1.ConfigMap:
				byName["ConfigMap/"+o.Name] = o
			case *corev1.Secret:
				byName["Secret/"+o.Name] = o
			case *corev1.PersistentVolumeClaim:
				byName["PersistentVolumeClaim/"+o.Name] = o
			}
		}
	}
	cm, ok := byName["ConfigMap/sluice-config"].(*corev1.ConfigMap)
	if !ok {
		t.Fatal("no ConfigMap sluice-config")
	}
	cfg, err := config.Parse("configmap.yaml:config.toml", []byte(cm.Data["config.toml"]))
	if err != nil {
		t.Fatalf("the ConfigMap's config.toml is refused by sluice: %v", err)
	}
	if cfg.Checkpoint.Store != "cassandra" || cfg.Checkpoint.LeaseTTL <= 0 || cfg.Checkpoint.LeaseWait < cfg.Checkpoint.LeaseTTL {
		t.Errorf("checkpoint: store %q, lease_ttl %s, lease_wait %s: the pods of a Job need the cassandra store and a lease, and a wait longer than the TTL so a replacement pod takes over",
			cfg.Checkpoint.Store, cfg.Checkpoint.LeaseTTL, cfg.Checkpoint.LeaseWait)
	}
	if cfg.Admin.Listen == "" {
		t.Error("no [admin] listen: no metrics to scrape from the pods")
	}
	if len(jobs) == 0 {
		t.Fatal("no Job")
	}
	for _, j := range jobs {
		t.Run(j.Name, func(t *testing.T) { checkJob(t, j, cfg, byName) })
	}
}

func checkJob(t *testing.T, j *batchv1.Job, cfg *config.Config, byName map[string]any) {
	s := j.Spec
	if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode is not Indexed: pods get no JOB_COMPLETION_INDEX")
	}
	if s.Completions == nil || s.BackoffLimitPerIndex == nil {
		t.Fatalf("completions %v, backoffLimitPerIndex %v: both are required", s.Completions, s.BackoffLimitPerIndex)
	}
	if s.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: backoffLimitPerIndex requires Never", s.Template.Spec.RestartPolicy)
	}
	if len(s.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers", len(s.Template.Spec.Containers))
	}
	c := s.Template.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	n := int(*s.Completions)
	switch {
	case slices.Contains(c.Args, "run"):
		if !strings.Contains(args, "-shard auto") {
			t.Errorf("args %q: the scan pods must take their shard from JOB_COMPLETION_INDEX (-shard auto)", args)
		}
		for _, st := range cfg.Streams {
			if st.Shard.Count != n || !st.Shard.Auto {
				t.Errorf("stream %q: shard %q, but the Job has %d completions: want \"auto/%d\"", st.Name, st.Shard, n, n)
			}
		}
		if s.PodReplacementPolicy == nil || *s.PodReplacementPolicy != batchv1.Failed {
			t.Errorf("podReplacementPolicy should be Failed: a replacement pod then starts only once the old one has terminated (the lease fences the rest)")
		}
		if s.Template.Annotations["prometheus.io/scrape"] != "true" || !hasPort(c, 9180) {
			t.Errorf("the scan pods' metrics are not scraped (annotations %v)", s.Template.Annotations)
		}
	case slices.Contains(c.Args, "verify"):
		if !strings.Contains(args, fmt.Sprintf("-part auto/%d", n)) {
			t.Errorf("args %q: a verify Job of %d completions needs -part auto/%d", args, n, n)
		}
	default:
		t.Errorf("args %q: neither run nor verify", args)
	}
	if !slices.Contains(c.Args, "/etc/sluice/config.toml") {
		t.Errorf("args %q do not read the ConfigMap's config", args)
	}
	mounted := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounted[m.Name] = m.MountPath
	}
	for _, v := range s.Template.Spec.Volumes {
		if v.ConfigMap != nil && byName["ConfigMap/"+v.ConfigMap.Name] == nil {
			t.Errorf("volume %q: no ConfigMap %q here", v.Name, v.ConfigMap.Name)
		}
		if v.PersistentVolumeClaim != nil && byName["PersistentVolumeClaim/"+v.PersistentVolumeClaim.ClaimName] == nil {
			t.Errorf("volume %q: no PersistentVolumeClaim %q here", v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	if mounted["config"] != "/etc/sluice" {
		t.Errorf("the config volume is mounted at %q", mounted["config"])
	}
	pw := false
	for _, e := range c.Env {
		if e.Name == cfg.Cassandra.PasswordEnv && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			sec, _ := byName["Secret/"+e.ValueFrom.SecretKeyRef.Name].(*corev1.Secret)
			if sec == nil {
				t.Errorf("env %s: no Secret %q here", e.Name, e.ValueFrom.SecretKeyRef.Name)
			} else if _, ok := sec.StringData[e.ValueFrom.SecretKeyRef.Key]; !ok {
				t.Errorf("env %s: Secret %q has no key %q", e.Name, sec.Name, e.ValueFrom.SecretKeyRef.Key)
			}
			pw = true
		}
	}
	if cfg.Cassandra.PasswordEnv != "" && !pw {
		t.Errorf("the config reads the password from $%s, which the pod does not get from a Secret", cfg.Cassandra.PasswordEnv)
	}
	if slices.Contains(c.Args, "run") {
		for _, st := range cfg.Streams {
			for _, p := range st.Plugins {
				if !strings.HasPrefix(p.Path, mounted["plugins"]+"/") {
					t.Errorf("plugin %s is not on the plugins volume (%s)", p.Path, mounted["plugins"])
				}
			}
			for _, sk := range st.Sinks {
				if sk.Type == "file" && (!strings.HasPrefix(sk.Path, mounted["out"]+"/") || !strings.Contains(sk.Path, config.ShardPlaceholder)) {
					t.Errorf("file sink %s: want it on the shared volume (%s) with %s in its name", sk.Path, mounted["out"], config.ShardPlaceholder)
				}
			}
		}
	}
}

func hasPort(c corev1.Container, port int32) bool {
	for _, p := range c.Ports {
		if p.ContainerPort == port {
			return true
		}
	}
	return false
}

// A manifest with a typo must fail: the strict decoding is what catches it.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: batch/v1\nkind: Job\nmetadata: {name: x}\nspec:\n  completionMode: Indexed\n  backoffLimitPerIndx: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := decodeFile(bad)
	if err == nil || !strings.Contains(err.Error(), "backoffLimitPerIndx") {
		t.Fatalf("a misspelt field was not refused: %v", err)
	}
}
