#include "textflag.h"

// func touchPages(lo, hi, step uintptr)
// Stores each 32-bit word at lo, lo+step, ... below hi back as it was
// read, exclusively (so that no other write falls in between): a write
// access to each page that changes nothing (prefault.go).
TEXT ·touchPages(SB), NOSPLIT, $0-24
	MOVD	lo+0(FP), R0
	MOVD	hi+8(FP), R1
	MOVD	step+16(FP), R2
loop:
	CMP	R1, R0
	BHS	done
again:
	LDAXRW	(R0), R3
	STLXRW	R3, (R0), R4
	CBNZ	R4, again
	ADD	R2, R0, R0
	B	loop
done:
	RET
