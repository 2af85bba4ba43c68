// Command parley runs the Parley conversation platform: `parley -h` lists
// its commands, flags and environment variables.
package main

import (
	"os"

	"github.com/parley-dev/parley/internal/app"
)

func main() {
	os.Exit(app.Main(&app.Env{
		Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
	}))
}
