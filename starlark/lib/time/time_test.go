package time

import (
	"errors"
	"math/rand"
	"testing"
	"time"

	"github.com/corolang/coro/starlark"
)

func TestPerThreadNowReturnsCorrectTime(t *testing.T) {
	th := &starlark.Thread{}
	date := time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC)
	SetNow(th, func() (time.Time, error) {
		return date, nil
	})

	res, err := starlark.Call(th, Module.Members["now"], nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	retTime := time.Time(res.(Time))

	if !retTime.Equal(date) {
		t.Fatal("Expected time to be equal", retTime, date)
	}
}

func TestPerThreadNowReturnsError(t *testing.T) {
	th := &starlark.Thread{}
	e := errors.New("no time")
	SetNow(th, func() (time.Time, error) {
		return time.Time{}, e
	})

	_, err := starlark.Call(th, Module.Members["now"], nil, nil)
	if !errors.Is(err, e) {
		t.Fatal("Expected equal error", e, err)
	}
}

func TestGlobalNowReturnsCorrectTime(t *testing.T) {
	th := &starlark.Thread{}

	oldNow := NowFunc
	defer func() {
		NowFunc = oldNow
	}()

	date := time.Date(1, 2, 3, 4, 5, 6, 7, time.UTC)
	NowFunc = func() time.Time {
		return date
	}

	res, err := starlark.Call(th, Module.Members["now"], nil, nil)
	if err != nil {
		t.Fatal(err)
	}

	retTime := time.Time(res.(Time))

	if !retTime.Equal(date) {
		t.Fatal("Expected time to be equal", retTime, date)
	}
}

func TestGlobalNowReturnsErrorWhenNil(t *testing.T) {
	th := &starlark.Thread{}

	oldNow := NowFunc
	defer func() {
		NowFunc = oldNow
	}()

	NowFunc = nil

	_, err := starlark.Call(th, Module.Members["now"], nil, nil)
	if err == nil {
		t.Fatal("Expected to get an error")
	}
}

// date is time.Date wherever time.Date does not overflow: the same
// instant and zone for any fields, normalized or not, a zone's gaps and
// overlaps included (coro patch, ORIGIN 43).
func TestDateIsTimeDate(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	var locs []*time.Location
	for _, name := range []string{"UTC", "US/Eastern", "Europe/Paris", "Australia/Lord_Howe", "Asia/Kathmandu"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		locs = append(locs, loc)
	}
	field := func(scale int) int { return r.Intn(2*scale+1) - scale }
	for i := 0; i < 200000; i++ {
		year, month, day := 1900+field(300), field(30), field(400)
		hour, min, sec, nsec := field(100), field(1000), field(100000), field(3e9)
		if i%2 == 0 { // mostly normalized: near zone transitions
			year, month, day, hour, min, sec = 1970+r.Intn(80), 1+r.Intn(12), 1+r.Intn(31), r.Intn(24), r.Intn(60), r.Intn(60)
		}
		loc := locs[r.Intn(len(locs))]
		want := time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
		got, err := date(year, month, day, hour, min, sec, nsec, loc)
		if err != nil || !got.Equal(want) || got.Location() != want.Location() || got.String() != want.String() {
			t.Fatalf("date(%d, %d, %d, %d, %d, %d, %d, %s) = %v, %v; time.Date: %v", year, month, day, hour, min, sec, nsec, loc, got, err, want)
		}
	}
}

// Every failure of the operators and methods is an ArgError, bad input
// (coro's kind value), out of range or not (coro patch, ORIGIN 43, 44).
func TestOperatorFailuresAreArgErrors(t *testing.T) {
	for _, src := range []string{
		"time.hour * 10000000000",
		"time.time(year=9999) - time.time(year=1)",
		"time.from_timestamp(1 << 62) + time.hour",
		"time.hour / 0",
		"time.hour / (1 << 70)",
		"time.time(year=1 << 40)",
		"time.now().in_location('Nope')", // ORIGIN 43
	} {
		_, err := starlark.Eval(&starlark.Thread{}, "t.star", src, starlark.StringDict{"time": Module})
		var ae *starlark.ArgError
		if !errors.As(err, &ae) {
			t.Errorf("%s: got %v (%T), want an ArgError", src, err, err)
		}
	}
}
