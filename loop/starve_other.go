//go:build !linux

package loop

import "time"

// threadRunDelays is known on Linux only.
func threadRunDelays() map[int]time.Duration { return nil }
