package config

import (
	"fmt"
	"os"
)

// Secrets holds the values of the environment variables the configuration
// names. The file itself never contains a secret.
type Secrets struct {
	// CassandraPassword is the value of $cassandra.password_env; "" when
	// password_env is not set.
	CassandraPassword string
	// AdminToken is the value of $admin.token_env; "" when token_env is not
	// set (mutating admin endpoints are then disabled).
	AdminToken string
	// KafkaPasswords holds the value of each kafka sink's
	// sasl_password_env, by "<stream>/<sink>".
	KafkaPasswords map[string]string
}

// ResolveSecrets reads the environment variables named by password_env and
// token_env through lookup (nil means os.LookupEnv). A named variable that
// is unset or empty is an error: a *Error with one Problem per variable,
// pointing at the line that names it.
func (c *Config) ResolveSecrets(lookup func(string) (string, bool)) (Secrets, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var (
		s     Secrets
		probs []Problem
	)
	get := func(dst *string, env, path, purpose string) {
		if env == "" {
			return
		}
		v, ok := lookup(env)
		msg := ""
		switch {
		case !ok:
			msg = fmt.Sprintf("environment variable %s is not set (it must hold %s)", env, purpose)
		case v == "":
			msg = fmt.Sprintf("environment variable %s is empty (it must hold %s)", env, purpose)
		default:
			*dst = v
			return
		}
		probs = append(probs, Problem{File: c.File, Line: c.Line(path), Path: path, Msg: msg})
	}
	get(&s.CassandraPassword, c.Cassandra.PasswordEnv, "cassandra.password_env", "the password of cassandra.username")
	get(&s.AdminToken, c.Admin.TokenEnv, "admin.token_env", "the bearer token of the admin server")
	for i, st := range c.Streams {
		for j, k := range st.Sinks {
			if k.Type != "kafka" || k.SASLPasswordEnv == "" {
				continue
			}
			var v string
			get(&v, k.SASLPasswordEnv, fmt.Sprintf("stream[%d].sink[%d].sasl_password_env", i, j), "the SASL password of sasl_user "+k.SASLUser)
			if v != "" {
				if s.KafkaPasswords == nil {
					s.KafkaPasswords = map[string]string{}
				}
				s.KafkaPasswords[st.Name+"/"+k.Name] = v
			}
		}
	}
	if len(probs) > 0 {
		return Secrets{}, newError(probs)
	}
	return s, nil
}
