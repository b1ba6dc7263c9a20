#include "textflag.h"

// func growStack()
// A 2 KB frame that is never written: the prologue's stack check grows the
// goroutine stack once; see growstack.go.
TEXT ·growStack(SB), 0, $2048-0
	RET
