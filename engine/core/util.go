package core

import (
	"strconv"
	"time"
)

type timeDuration = time.Duration

func itoa(i int) string { return strconv.Itoa(i) }
