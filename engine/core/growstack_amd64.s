#include "textflag.h"

// func growStack()
// A 5 KB frame that is never written: the prologue's stack check grows the
// goroutine stack once; see growstack.go.
TEXT ·growStack(SB), 0, $5120-0
	RET
