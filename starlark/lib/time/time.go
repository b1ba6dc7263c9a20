// Copyright 2021 The Bazel Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package time provides time-related constants and functions.
package time // import "github.com/corolang/coro/starlark/lib/time"

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"time"

	"github.com/corolang/coro/starlark"
	"github.com/corolang/coro/starlark/starlarkstruct"
	"github.com/corolang/coro/starlark/syntax"
)

// Module time is a Starlark module of time-related functions and constants.
// The module defines the following functions:
//
//	    from_timestamp(sec, nsec) - Converts the given Unix time corresponding to the number of seconds
//	                                and (optionally) nanoseconds since January 1, 1970 UTC into an object
//	                                of type Time. For more details, refer to https://pkg.go.dev/time#Unix.
//
//	    is_valid_timezone(loc) - Reports whether loc is a valid time zone name.
//
//	    now() - Returns the current local time. Applications may replace this function by a deterministic one.
//
//	    parse_duration(d) - Parses the given duration string. For more details, refer to
//	                        https://pkg.go.dev/time#ParseDuration.
//
//	    parse_time(x, format, location) - Parses the given time string using a specific time format and location.
//	                                     The expected arguments are a time string (mandatory), a time format
//	                                     (optional, set to RFC3339 by default, e.g. "2021-03-22T23:20:50.52Z")
//	                                     and a name of location (optional, set to UTC by default). For more details,
//	                                     refer to https://pkg.go.dev/time#Parse and https://pkg.go.dev/time#ParseInLocation.
//
//	    time(year, month, day, hour, minute, second, nanosecond, location) - Returns the Time corresponding to
//		                                                                        yyyy-mm-dd hh:mm:ss + nsec nanoseconds
//	                                                                         in the appropriate zone for that time
//	                                                                         in the given location. All the parameters
//	                                                                         are optional.
//
// The module also defines the following constants:
//
//	nanosecond - A duration representing one nanosecond.
//	microsecond - A duration representing one microsecond.
//	millisecond - A duration representing one millisecond.
//	second - A duration representing one second.
//	minute - A duration representing one minute.
//	hour - A duration representing one hour.
var Module = &starlarkstruct.Module{
	Name: "time",
	Members: starlark.StringDict{
		"from_timestamp":    starlark.NewBuiltin("from_timestamp", fromTimestamp),
		"is_valid_timezone": starlark.NewBuiltin("is_valid_timezone", isValidTimezone),
		"now":               starlark.NewBuiltin("now", now),
		"parse_duration":    starlark.NewBuiltin("parse_duration", parseDuration),
		"parse_time":        starlark.NewBuiltin("parse_time", parseTime),
		"time":              starlark.NewBuiltin("time", newTime),

		"nanosecond":  Duration(time.Nanosecond),
		"microsecond": Duration(time.Microsecond),
		"millisecond": Duration(time.Millisecond),
		"second":      Duration(time.Second),
		"minute":      Duration(time.Minute),
		"hour":        Duration(time.Hour),
	},
}

// NowFunc is a function that reports the current time. Intentionally exported
// so that it can be overridden, for example by applications that require their
// Starlark scripts to be fully deterministic.
//
// Deprecated: avoid updating this global variable
// and instead use SetNow on each thread to set its clock function.
var NowFunc = time.Now

const contextKey = "time.now"

// SetNow sets the thread's optional clock function.
// If non-nil, it will be used in preference to NowFunc when the
// thread requests the current time by executing a call to time.now.
func SetNow(thread *starlark.Thread, nowFunc func() (time.Time, error)) {
	thread.SetLocal(contextKey, nowFunc)
}

// Now returns the clock function previously associated with this thread.
func Now(thread *starlark.Thread) func() (time.Time, error) {
	nowFunc, _ := thread.Local(contextKey).(func() (time.Time, error))
	return nowFunc
}

func parseDuration(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var d Duration
	err := starlark.UnpackPositionalArgs("parse_duration", args, kwargs, 1, &d)
	return d, err
}

func isValidTimezone(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var s string
	if err := starlark.UnpackPositionalArgs("is_valid_timezone", args, kwargs, 1, &s); err != nil {
		return nil, err
	}
	_, err := time.LoadLocation(s)
	return starlark.Bool(err == nil), nil
}

func parseTime(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		x        string
		location = "UTC"
		format   = time.RFC3339
	)
	if err := starlark.UnpackArgs("parse_time", args, kwargs, "x", &x, "format?", &format, "location?", &location); err != nil {
		return nil, err
	}

	if location == "UTC" {
		t, err := time.Parse(format, x)
		if err != nil {
			return nil, err
		}
		return Time(t), nil
	}

	loc, err := time.LoadLocation(location)
	if err != nil {
		return nil, err
	}
	t, err := time.ParseInLocation(format, x, loc)
	if err != nil {
		return nil, err
	}
	return Time(t), nil
}

func fromTimestamp(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		sec  int64
		nsec int64 = 0
	)
	if err := starlark.UnpackPositionalArgs("from_timestamp", args, kwargs, 1, &sec, &nsec); err != nil {
		return nil, err
	}
	// coro patch (ORIGIN 43): time.Unix adds the seconds in nsec to sec
	// without a check.
	q, r := divMod(big.NewInt(nsec), 1e9)
	unix := q.Add(q, big.NewInt(sec))
	if unix.CmpAbs(big.NewInt(maxUnix)) > 0 {
		return nil, timeRangeError(fmt.Sprintf("%s seconds from 1970", unix))
	}
	return Time(time.Unix(unix.Int64(), r)), nil
}

func now(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	nowErrFunc := Now(thread)
	if nowErrFunc != nil {
		t, err := nowErrFunc()
		if err != nil {
			return nil, err
		}
		return Time(t), nil
	}
	nowFunc := NowFunc
	if nowFunc == nil {
		return nil, errors.New("time.now() is not available")
	}
	return Time(nowFunc()), nil
}

// Duration is a Starlark representation of a duration.
type Duration time.Duration

// Assert at compile time that Duration implements Unpacker.
var _ starlark.Unpacker = (*Duration)(nil)

// Unpack is a custom argument unpacker
func (d *Duration) Unpack(v starlark.Value) error {
	switch x := v.(type) {
	case Duration:
		*d = x
		return nil
	case starlark.String:
		dur, err := time.ParseDuration(string(x))
		if err != nil {
			return err
		}

		*d = Duration(dur)
		return nil
	}

	// coro patch (ORIGIN 59): upstream's message offered an int, which
	// no case here takes (time.parse_duration(5) said "got int, want a
	// duration, string, or int").
	return fmt.Errorf("got %s, want a duration or string", v.Type())
}

// String implements the Stringer interface.
func (d Duration) String() string { return time.Duration(d).String() }

// Type returns a short string describing the value's type.
func (d Duration) Type() string { return "time.duration" }

// Freeze renders Duration immutable. required by starlark.Value interface
// because duration is already immutable this is a no-op.
func (d Duration) Freeze() {}

// Hash returns a function of x such that Equals(x, y) => Hash(x) == Hash(y)
// required by starlark.Value interface.
func (d Duration) Hash() (uint32, error) {
	return uint32(d) ^ uint32(int64(d)>>32), nil
}

// Truth reports whether the duration is non-zero.
func (d Duration) Truth() starlark.Bool { return d != 0 }

// Attr gets a value for a string attribute, implementing dot expression support
// in starlark. required by starlark.HasAttrs interface.
func (d Duration) Attr(name string) (starlark.Value, error) {
	switch name {
	case "hours":
		return starlark.Float(time.Duration(d).Hours()), nil
	case "minutes":
		return starlark.Float(time.Duration(d).Minutes()), nil
	case "seconds":
		return starlark.Float(time.Duration(d).Seconds()), nil
	case "milliseconds":
		return starlark.MakeInt64(time.Duration(d).Milliseconds()), nil
	case "microseconds":
		return starlark.MakeInt64(time.Duration(d).Microseconds()), nil
	case "nanoseconds":
		return starlark.MakeInt64(time.Duration(d).Nanoseconds()), nil
	}
	return nil, fmt.Errorf("unrecognized %s attribute %q", d.Type(), name)
}

// AttrNames lists available dot expression strings. required by
// starlark.HasAttrs interface.
func (d Duration) AttrNames() []string {
	return []string{
		"hours",
		"minutes",
		"seconds",
		"milliseconds",
		"microseconds",
		"nanoseconds",
	}
}

// Cmp implements comparison of two Duration values. required by
// starlark.TotallyOrdered interface.
func (d Duration) Cmp(v starlark.Value, depth int) (int, error) {
	if x, y := d, v.(Duration); x < y {
		return -1, nil
	} else if x > y {
		return 1, nil
	}
	return 0, nil
}

// Unary implements -d and +d (coro patch, ORIGIN 51): a negative
// duration such as -time.second was "unknown unary op", where Python's
// -timedelta and Go's -d both work. The one duration with no negation,
// the most negative, is a range error like Binary's.
func (d Duration) Unary(op syntax.Token) (starlark.Value, error) {
	switch op {
	case syntax.MINUS:
		if d == math.MinInt64 {
			return nil, durationRangeError(fmt.Sprintf("-(%s)", d))
		}
		return -d, nil
	case syntax.PLUS:
		return d, nil
	}
	return nil, nil
}

// Binary implements binary operators, which satisfies the starlark.HasBinary
// interface. operators:
//
//	duration + duration = duration
//	duration + time = time
//	duration - duration = duration
//	duration / duration = float
//	duration / int = duration
//	duration / float = duration
//	duration // duration = int
//	duration * int = duration
func (d Duration) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	x := time.Duration(d)
	// coro patch (ORIGIN 43): every failure here is an ArgError (bad
	// input: coro's kind value), and a result past a duration's range
	// (or, with a time, a time's) fails where it overflowed silently.
	expr := func() string { // the operation, in the script's order
		if side == starlark.Left {
			return fmt.Sprintf("%s %s %s", d, op, y)
		}
		return fmt.Sprintf("%s %s %s", y, op, d)
	}

	switch op {
	case syntax.PLUS:
		switch y := y.(type) {
		case Duration:
			z := x + time.Duration(y)
			if (y > 0 && z < x) || (y < 0 && z > x) {
				return nil, durationRangeError(expr())
			}
			return Duration(z), nil
		case Time:
			return addTime(time.Time(y), x, expr)
		}

	case syntax.MINUS:
		switch y := y.(type) {
		case Duration:
			z := x - time.Duration(y)
			if (y > 0 && z > x) || (y < 0 && z < x) {
				return nil, durationRangeError(expr())
			}
			return Duration(z), nil
		}

	case syntax.SLASH:
		switch y := y.(type) {
		case Duration:
			if y == 0 {
				return nil, starlark.ArgErrorf("%s division by zero", d.Type())
			}
			return starlark.Float(x.Nanoseconds()) / starlark.Float(time.Duration(y).Nanoseconds()), nil
		case starlark.Int:
			if side == starlark.Right {
				return nil, starlark.ArgErrorf("unsupported operation")
			}
			i, ok := y.Int64()
			if !ok {
				return nil, starlark.ArgErrorf("int value out of range (want signed 64-bit value)")
			}
			if i == 0 {
				return nil, starlark.ArgErrorf("%s division by zero", d.Type())
			}
			if i == -1 && x == math.MinInt64 {
				return nil, durationRangeError(expr())
			}
			return d / Duration(i), nil
		case starlark.Float:
			if side == starlark.Right { // upstream divided d by y here
				return nil, starlark.ArgErrorf("unsupported operation")
			}
			f := float64(y)
			if f == 0 {
				return nil, starlark.ArgErrorf("%s division by zero", d.Type())
			}
			q := float64(x.Nanoseconds()) / f
			// Go's conversion of a float past int64 (or NaN) is
			// whatever the machine gives.
			if !(q > -(1<<63) && q < 1<<63) {
				return nil, durationRangeError(expr())
			}
			return Duration(q), nil
		}

	case syntax.SLASHSLASH:
		switch y := y.(type) {
		case Duration:
			if y == 0 {
				return nil, starlark.ArgErrorf("%s division by zero", d.Type())
			}
			if y == -1 && x == math.MinInt64 {
				return starlark.MakeBigInt(new(big.Int).Neg(big.NewInt(math.MinInt64))), nil
			}
			return starlark.MakeInt64(x.Nanoseconds() / time.Duration(y).Nanoseconds()), nil
		}

	case syntax.STAR:
		switch y := y.(type) {
		case starlark.Int:
			i, ok := y.Int64()
			if !ok {
				return nil, starlark.ArgErrorf("int value out of range (want signed 64-bit value)")
			}
			z := new(big.Int).Mul(big.NewInt(int64(x)), big.NewInt(i))
			if !z.IsInt64() {
				return nil, durationRangeError(expr())
			}
			return Duration(z.Int64()), nil
		}
	}

	return nil, nil
}

// coro patch (ORIGIN 43): the range of times and durations.

// maxUnix bounds the times this module makes: 2^62 seconds (some 146
// billion years) either side of 1970. Go's own range ends near ±292
// billion years, where Unix() wraps around and Add saturates without a
// word; within this one every operation here is exact (a duration, at
// most 292 years, moves a time no nearer to Go's ends).
const maxUnix = 1 << 62

func inRange(t time.Time) bool {
	u := t.Unix()
	return -maxUnix <= u && u <= maxUnix
}

// timeRangeError is the failure of an operation whose time is out of
// range, as Python's datetime raises OverflowError; what says which.
func timeRangeError(what string) error {
	return starlark.ArgErrorf("time out of range: %s (a time is within 146 billion years of 1970)", what)
}

// durationRangeError is the failure of an operation whose duration is
// out of range (a duration is an int64 of nanoseconds, as Go's).
func durationRangeError(what string) error {
	return starlark.ArgErrorf("duration out of range: %s (a duration is within 292 years either way)", what)
}

// addTime is t + d, checked (expr is the operation, for the message).
func addTime(t time.Time, d time.Duration, expr func() string) (starlark.Value, error) {
	var r time.Time
	if d == math.MinInt64 { // -d is d
		r = t.Add(math.MinInt64 + 1).Add(-1)
	} else {
		r = t.Add(d)
	}
	if !inRange(r) {
		return nil, timeRangeError(expr())
	}
	return Time(r), nil
}

// divMod is x divided by the positive n, rounded down, and what is left
// (in [0, n)).
func divMod(x *big.Int, n int64) (*big.Int, int64) {
	q, r := new(big.Int).DivMod(x, big.NewInt(n), new(big.Int))
	return q, r.Int64()
}

// date is time.Date, failing for a time out of range where time.Date's
// arithmetic wraps around silently (time.time(year=1 << 40) was a date
// some 300 billion years off). The fields are added up exactly, to
// seconds from 1970 (days_from_civil, Howard Hinnant's), and only a time
// in range is made, with time.Date from its normalized fields (the same
// time: time.Date normalizes them so before applying loc's offset).
func date(year, month, day, hour, min, sec, nsec int, loc *time.Location) (time.Time, error) {
	n := func(i int) *big.Int { return big.NewInt(int64(i)) }
	mul := func(x *big.Int, k int64) *big.Int { return x.Mul(x, big.NewInt(k)) }
	// The month into the year, the day and the rest into seconds.
	q, m := divMod(new(big.Int).Sub(n(month), big.NewInt(1)), 12)
	y := q.Add(q, n(year))
	m++ // 1 to 12
	secs := mul(new(big.Int).Sub(n(day), big.NewInt(1)), 86400)
	secs.Add(secs, mul(n(hour), 3600))
	secs.Add(secs, mul(n(min), 60))
	secs.Add(secs, n(sec))
	q, ns := divMod(n(nsec), 1e9)
	secs.Add(secs, q)
	// Days from 1970-01-01 to the first of month m of year y.
	if m <= 2 {
		y.Sub(y, big.NewInt(1))
	}
	era, yoe := divMod(y, 400)
	doy := (153*((m+9)%12) + 2) / 5
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	days := mul(era, 146097)
	days.Add(days, big.NewInt(doe-719468))
	unix := mul(days, 86400)
	unix.Add(unix, secs)
	if unix.CmpAbs(big.NewInt(maxUnix+2*86400)) > 0 { // past any zone's offset
		return time.Time{}, timeRangeError(fmt.Sprintf("year %d, month %d, day %d, hour %d, minute %d, second %d", year, month, day, hour, min, sec))
	}
	f := time.Unix(unix.Int64(), 0).UTC()
	t := time.Date(f.Year(), f.Month(), f.Day(), f.Hour(), f.Minute(), f.Second(), int(ns), loc)
	if !inRange(t) {
		return time.Time{}, timeRangeError(fmt.Sprintf("year %d, month %d, day %d, hour %d, minute %d, second %d", year, month, day, hour, min, sec))
	}
	return t, nil
}

// Time is a Starlark representation of a moment in time.
type Time time.Time

func newTime(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		year, month, day, hour, min, sec, nsec int
		loc                                    string
	)
	if err := starlark.UnpackArgs("time", args, kwargs,
		"year?", &year,
		"month?", &month,
		"day?", &day,
		"hour?", &hour,
		"minute?", &min,
		"second?", &sec,
		"nanosecond?", &nsec,
		"location?", &loc,
	); err != nil {
		return nil, err
	}
	if len(args) > 0 {
		return nil, fmt.Errorf("time: unexpected positional arguments")
	}
	location, err := time.LoadLocation(loc)
	if err != nil {
		return nil, err
	}
	t, err := date(year, month, day, hour, min, sec, nsec, location) // coro patch (ORIGIN 43)
	if err != nil {
		return nil, err
	}
	return Time(t), nil
}

// String returns the time formatted using the format string
//
//	"2006-01-02 15:04:05.999999999 -0700 MST".
func (t Time) String() string { return time.Time(t).Format("2006-01-02 15:04:05.999999999 -0700 MST") }

// Type returns "time.time".
func (t Time) Type() string { return "time.time" }

// Freeze renders time immutable. required by starlark.Value interface
// because Time is already immutable this is a no-op.
func (t Time) Freeze() {}

// Hash returns a function of x such that Equals(x, y) => Hash(x) == Hash(y)
// required by starlark.Value interface.
func (t Time) Hash() (uint32, error) {
	// coro patch (ORIGIN 43): UnixNano is undefined past 1678-2262.
	u, ns := time.Time(t).Unix(), time.Time(t).Nanosecond()
	return uint32(u) ^ uint32(u>>32) ^ uint32(ns), nil
}

// Truth returns the truth value of an object required by starlark.Value
// interface.
func (t Time) Truth() starlark.Bool { return !starlark.Bool(time.Time(t).IsZero()) }

// Attr gets a value for a string attribute, implementing dot expression support
// in starlark. required by starlark.HasAttrs interface.
func (t Time) Attr(name string) (starlark.Value, error) {
	switch name {
	case "year":
		return starlark.MakeInt(time.Time(t).Year()), nil
	case "month":
		return starlark.MakeInt(int(time.Time(t).Month())), nil
	case "day":
		return starlark.MakeInt(time.Time(t).Day()), nil
	case "hour":
		return starlark.MakeInt(time.Time(t).Hour()), nil
	case "minute":
		return starlark.MakeInt(time.Time(t).Minute()), nil
	case "second":
		return starlark.MakeInt(time.Time(t).Second()), nil
	case "nanosecond":
		return starlark.MakeInt(time.Time(t).Nanosecond()), nil
	case "unix":
		return starlark.MakeInt64(time.Time(t).Unix()), nil
	case "unix_nano":
		// coro patch (ORIGIN 43): exact, an int past int64 beyond
		// 1678-2262, where UnixNano wrapped around (year 3000 was
		// negative).
		u, ns := time.Time(t).Unix(), int64(time.Time(t).Nanosecond())
		const lim = math.MaxInt64 / 1_000_000_000
		if -lim < u && u < lim {
			return starlark.MakeInt64(u*1e9 + ns), nil
		}
		z := new(big.Int).Mul(big.NewInt(u), big.NewInt(1e9))
		return starlark.MakeBigInt(z.Add(z, big.NewInt(ns))), nil
	}
	return builtinAttr(t, name, timeMethods)
}

// AttrNames lists available dot expression strings for time. required by
// starlark.HasAttrs interface.
func (t Time) AttrNames() []string {
	return append(builtinAttrNames(timeMethods),
		"year",
		"month",
		"day",
		"hour",
		"minute",
		"second",
		"nanosecond",
		"unix",
		"unix_nano",
	)
}

// Cmp implements comparison of two Time values. Required by
// starlark.TotallyOrdered interface.
func (t Time) Cmp(yV starlark.Value, depth int) (int, error) {
	x := time.Time(t)
	y := time.Time(yV.(Time))
	if x.Before(y) {
		return -1, nil
	} else if x.After(y) {
		return 1, nil
	}
	return 0, nil
}

// Binary implements binary operators, which satisfies the starlark.HasBinary
// interface
//
//	time + duration = time
//	time - duration = time
//	time - time = duration
func (t Time) Binary(op syntax.Token, y starlark.Value, side starlark.Side) (starlark.Value, error) {
	x := time.Time(t)
	// coro patch (ORIGIN 43): a result out of range fails, where Add
	// and Sub saturated or wrapped around silently.
	expr := func() string { return fmt.Sprintf("%s %s %s", t, op, y) }

	switch op {
	case syntax.PLUS:
		switch y := y.(type) {
		case Duration:
			return addTime(x, time.Duration(y), expr)
		}
	case syntax.MINUS:
		switch y := y.(type) {
		case Duration:
			if y == math.MinInt64 {
				return addTime(x.Add(math.MaxInt64), 1, expr)
			}
			return addTime(x, time.Duration(-y), expr)
		case Time:
			// time - time = duration
			d := x.Sub(time.Time(y))
			if !time.Time(y).Add(d).Equal(x) { // Sub saturated
				return nil, durationRangeError(expr())
			}
			return Duration(d), nil
		}
	}

	return nil, nil
}

var timeMethods = map[string]builtinMethod{
	"in_location": timeIn,
	"format":      timeFormat,
}

func timeFormat(fnname string, recV starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x string
	if err := starlark.UnpackPositionalArgs("format", args, kwargs, 1, &x); err != nil {
		return nil, err
	}

	recv := time.Time(recV.(Time))
	return starlark.String(recv.Format(x)), nil
}

func timeIn(fnname string, recV starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x string
	if err := starlark.UnpackPositionalArgs("in_location", args, kwargs, 1, &x); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(x)
	if err != nil {
		// coro patch (ORIGIN 44): bad input, named ("in_location:
		// unknown time zone Nope"), as time.time's location is.
		return nil, starlark.ArgErrorf("%s: %v", fnname, err)
	}

	recv := time.Time(recV.(Time))
	return Time(recv.In(loc)), nil
}

type builtinMethod func(fnname string, recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

func builtinAttr(recv starlark.Value, name string, methods map[string]builtinMethod) (starlark.Value, error) {
	method := methods[name]
	if method == nil {
		return nil, nil // no such method
	}

	// Allocate a closure over 'method'.
	impl := func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		return method(b.Name(), b.Receiver(), args, kwargs)
	}
	return starlark.NewBuiltin(name, impl).BindReceiver(recv), nil
}

func builtinAttrNames(methods map[string]builtinMethod) []string {
	names := make([]string, 0, len(methods))
	for name := range methods {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
