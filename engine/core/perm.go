package core

import (
	"os"
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

// pathAllowed reports whether path lies under one of the allowed paths.
// Symbolic links are resolved on both sides first, and ".." is taken the
// way the kernel takes it (after the link before it), so a link inside an
// allowed directory cannot lead outside it. Not caught: a link swapped in
// between the check and the use.
func pathAllowed(allowed []string, path string) bool {
	for _, a := range allowed {
		if a == "/" {
			return true // no need to resolve anything
		}
	}
	abs, ok := resolvePath(path)
	if !ok {
		return false
	}
	for _, a := range allowed {
		aa, ok := resolvePath(a)
		if !ok {
			continue
		}
		if aa == "/" || abs == aa || strings.HasPrefix(abs, aa+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// resolvePath makes path absolute and resolves the symbolic links of its
// longest existing prefix; the rest (a file about to be created does not
// exist yet, but its directory does) is appended as it is.
func resolvePath(path string) (string, bool) {
	if !filepath.IsAbs(path) {
		wd, err := os.Getwd()
		if err != nil {
			return "", false
		}
		path = wd + string(filepath.Separator) + path // not Join: no lexical ".."
	}
	rest := ""
	for dir := path; ; {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest), true
		}
		i := strings.LastIndexByte(dir, filepath.Separator)
		if i <= 0 {
			return filepath.Clean(path), true
		}
		rest = filepath.Join(dir[i+1:], rest)
		dir = dir[:i]
	}
}
