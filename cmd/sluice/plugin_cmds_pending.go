package main

import "io"

// Replaced by the plugin harness (plugin_test.go / plugin_new.go).
func cmdPluginTest(args []string, stdout, stderr io.Writer) error {
	return usagef("plugin test: being built")
}
func cmdPluginNew(args []string, stdout, stderr io.Writer) error {
	return usagef("plugin new: being built")
}
