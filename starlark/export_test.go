// Copyright 2026 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// This file exposes internal declarations to tests.

package starlark

import "unsafe"

func UnpackArgNoEscape(v Value, ptr any) error {
	return unpackArgNoEscape(v, ptr)
}

func UnpackPositionalArgsNoEscape(fnname string, args Tuple, kwargs []Tuple, min int, vars ...any) error {
	return unpackPositionalArgsNoEscape(fnname, args, kwargs, min, vars...)
}

// SuspensionSize is the size of an unwound frame's suspension.
const SuspensionSize = unsafe.Sizeof(suspension{})

// SetMaxReprLen sets the bound on one value's text (reprWriter) and
// returns a func that restores it.
func SetMaxReprLen(n int) (restore func()) {
	old := maxReprLen
	maxReprLen = n
	return func() { maxReprLen = old }
}

// RaceEnabled reports a build with the race detector, which allocates
// where a plain build does not.
const RaceEnabled = raceEnabled

// SetMaxReprDepth sets the bound on the nesting of one value's text
// (reprWriter) and returns a func that restores it.
func SetMaxReprDepth(n int) (restore func()) {
	old := maxReprDepth
	maxReprDepth = n
	return func() { maxReprDepth = old }
}

// CallMethod calls m on recv as CALL_METHOD calls a method of a built-in
// type (callMethod): for tests, with methods of their own.
func CallMethod(thread *Thread, m *Builtin, recv Value, args Tuple) (Value, error) {
	return callMethod(thread, m, recv, args, nil)
}

// ThreadSize is the size of a Thread.
const ThreadSize = unsafe.Sizeof(Thread{})
