package core

import (
	"path/filepath"
	"strings"
)

// permission errors name the flag (command) and option (embedding) that
// would allow the operation.

// CheckNet fails unless scripts may use the network.
func (e *Engine) CheckNet(fn string) error {
	if e.opts.Permissions.Net {
		return nil
	}
	return Errorf(KindPermission, "%s: network access denied (allow with --allow-net, or Permissions.Net)", fn)
}

// CheckRun fails unless scripts may start processes.
func (e *Engine) CheckRun(fn string) error {
	if e.opts.Permissions.Run {
		return nil
	}
	return Errorf(KindPermission, "%s: running processes denied (allow with --allow-run, or Permissions.Run)", fn)
}

// CheckEnv fails unless scripts may read the environment.
func (e *Engine) CheckEnv(fn string) error {
	if e.opts.Permissions.Env {
		return nil
	}
	return Errorf(KindPermission, "%s: environment access denied (allow with --allow-env, or Permissions.Env)", fn)
}

// CheckRead fails unless path lies under a readable path.
func (e *Engine) CheckRead(fn, path string) error {
	if pathAllowed(e.opts.Permissions.Read, path) {
		return nil
	}
	return Errorf(KindPermission, "%s: reading %s denied (allow with --allow-read=PATH, or Permissions.Read)", fn, path)
}

// CheckWrite fails unless path lies under a writable path.
func (e *Engine) CheckWrite(fn, path string) error {
	if pathAllowed(e.opts.Permissions.Write, path) {
		return nil
	}
	return Errorf(KindPermission, "%s: writing %s denied (allow with --allow-write=PATH, or Permissions.Write)", fn, path)
}

func pathAllowed(allowed []string, path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		aa, err := filepath.Abs(a)
		if err != nil {
			continue
		}
		if aa == "/" || abs == aa || strings.HasPrefix(abs, aa+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
