package starlark

import (
	"fmt"
	"strings"
)

// coro patch (ORIGIN item 10): builtins that loop over an iterable charge a
// step per element, and reserve memory from an iterable's length only up
// to a bound.

// Step charges one step of computation to thread, as the interpreter does
// for each instruction it executes, and returns an error once thread has
// been cancelled. Builtins call it once per element in their loops over
// iterables (list(range(n)), min, sorted, str.join, ...), so that those
// loops count toward the step limit, reach OnMaxSteps (where a host such
// as coro ends a time slice and delivers cancellations), and stop at a
// Cancel: without it, min(range(1 << 62)) ran for centuries, deaf to
// everything. A nil thread (a builtin called from Go without one) is not
// charged.
func (thread *Thread) Step() error {
	if thread == nil {
		return nil
	}
	thread.Steps++
	// maxSteps is 0 until the thread's first Call sets it (MaxUint64 for
	// no limit): a builtin called outside any Call has no limit.
	if thread.maxSteps != 0 && thread.Steps >= thread.maxSteps {
		if thread.OnMaxSteps != nil {
			thread.OnMaxSteps(thread)
		} else {
			thread.Cancel("too many steps")
		}
	}
	if reason := thread.cancelReason.Load(); reason != nil {
		return fmt.Errorf("Starlark computation cancelled: %s", *reason)
	}
	return nil
}

// maxPrealloc bounds the capacity a builtin reserves from the length of
// an iterable it is about to copy: range(1 << 62) has a length but no
// memory behind it, and reserving it panicked (makeslice: cap out of
// range) or exhausted memory before the first element was read. Longer
// copies grow as they go, a step per element.
const maxPrealloc = 1 << 16

// preallocLen returns the capacity to reserve for a copy of n elements.
func preallocLen(n int) int { return min(n, maxPrealloc) }

// steppedIterator charges thread a step (Thread.Step) for each element
// it yields; once thread is cancelled it yields no more and err holds
// why. It serves loops that take an Iterator, not the thread (Set's
// methods).
type steppedIterator struct {
	Iterator
	thread *Thread
	err    error
}

func (it *steppedIterator) Next(p *Value) bool {
	if it.err = it.thread.Step(); it.err != nil {
		return false
	}
	return it.Iterator.Next(p)
}

// AllocCheckMin is the size from which an operator or builtin asks the
// thread's AllocChecker before it allocates (CheckAlloc); smaller values
// cost one comparison. (coro patch, ORIGIN 47.)
const AllocCheckMin = 1 << 20

// An AllocChecker is asked before an operator or builtin makes a value of
// AllocCheckMin bytes or more whose size the script chose (s * n, l + l,
// sep.join(...), s.replace(...)): what names the operation ("string
// repeat"), bytes its size. A non-nil error refuses it: the operation
// fails with that error before allocating. A thread has one when its
// Host implements it (coro's execution context, whose engine bounds its
// heap with --max-memory, which sampled the heap every 10 ms, so that
// "x" * 2000000000 or s + s of large strings went far past the limit in
// one allocation before it was seen). The Host, not a field: one more
// field made every Thread, one per coro task, a size class larger.
// (coro patch, ORIGIN 47.)
type AllocChecker interface {
	CheckAlloc(thread *Thread, what string, bytes uint64) error
}

// CheckAlloc asks thread's AllocChecker whether the operation what may
// allocate bytes, when that is AllocCheckMin or more, and returns its
// refusal; nil when it may (no thread, no checker: no limit). Builtins
// call it before allocating a value whose size their arguments choose.
func (thread *Thread) CheckAlloc(what string, bytes uint64) error {
	if bytes < AllocCheckMin || thread == nil {
		return nil
	}
	if c, ok := thread.Host.(AllocChecker); ok {
		return c.CheckAlloc(thread, what, bytes)
	}
	return nil
}

// allocChecked reports whether thread's large allocations are checked.
func (thread *Thread) allocChecked() bool {
	if thread == nil {
		return false
	}
	_, ok := thread.Host.(AllocChecker)
	return ok
}

// BytesPerStep is how many bytes of text a builtin writes for the price
// of one step (Thread.StepBytes): copying 256 bytes takes about as long
// as one of the interpreter's steps (20-50 ns). (coro patch, ORIGIN 57.)
const BytesPerStep = 256

// StepBytes charges thread the steps of n bytes a builtin writes, one per
// BytesPerStep (at least one), as Step charges one. A builtin that writes
// a text whose length the script chose (json.indent's, a % formatting's:
// up to a GiB, in one Go call) calls it for each piece of at most 64 KiB,
// so that the writing ends time slices and sees a Cancel as a loop of
// the same length would: a step per piece left a GiB of text 16,384
// steps, under two of coro's time slices (a second or more). (coro
// patch, ORIGIN 57.)
func (thread *Thread) StepBytes(n int) error {
	if thread == nil {
		return nil
	}
	if n >= 2*BytesPerStep {
		thread.Steps += uint64(n/BytesPerStep) - 1
	}
	return thread.Step()
}

// A textBuilder builds the text of the % operator and str.format, which
// write an argument's text, and a conversion's width, once per
// conversion: ("%1000000d" * 1200) % tuple(range(1200)) is 12 KB of
// format and 1.2 GB of text, and ("{0}" * 1000).format(s) of a 1 MB
// string 1 GB. Each conversion was bounded (MaxFormatWidth, maxReprLen)
// but not their sum, made in one Go call that no Cancel or step limit
// stopped. Its text stops at maxReprLen (1 GiB, one value's text) with
// "formatted text too long", the thread's AllocChecker is asked before
// the builder grows (as str.join's), and the bytes written are charged
// (Thread.StepBytes) every 64 KiB. (coro patch, ORIGIN 58.)
type textBuilder struct {
	strings.Builder
	thread *Thread
	what   string // the operation, for the AllocChecker: "string formatting"
	unpaid int    // bytes written and not yet charged
}

// reserve readies the builder for a text of at least n bytes, known
// before it is written (printfMinLen): past maxReprLen it fails at once,
// and the builder grows to n in one allocation, which the AllocChecker
// is asked for.
func (b *textBuilder) reserve(n int) error {
	if n > maxReprLen {
		return errFormattedTooLong()
	}
	if n > b.Cap() {
		if err := b.thread.CheckAlloc(b.what, uint64(n)); err != nil {
			return err
		}
		b.Grow(n - b.Len())
	}
	return nil
}

// errFormattedTooLong is an ArgError, as a width past MaxFormatWidth is
// (formatNumber): the format and arguments chose the length.
func errFormattedTooLong() error {
	return argErrorf("formatted text too long (more than %d bytes)", maxReprLen)
}

// write appends s to the text, or fails: past maxReprLen, the
// AllocChecker's refusal, the thread's cancellation.
func (b *textBuilder) write(s string) error {
	n := b.Len() + len(s)
	if n > maxReprLen {
		return errFormattedTooLong()
	}
	if n > b.Cap() {
		// The builder is about to grow, to n or a quarter more than it
		// has (append's growth of a large slice).
		if err := b.thread.CheckAlloc(b.what, uint64(max(n, b.Cap()+b.Cap()/4))); err != nil {
			return err
		}
	}
	b.WriteString(s)
	if b.unpaid += len(s); b.unpaid >= 64<<10 {
		n := b.unpaid
		b.unpaid = 0
		return b.thread.StepBytes(n)
	}
	return nil
}
