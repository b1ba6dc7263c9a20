#include "textflag.h"

// func touchPages(lo, hi, step uintptr)
// Adds zero, atomically, to the 32-bit word at lo, lo+step, ... below hi:
// a write access to each page that changes nothing (prefault.go).
TEXT ·touchPages(SB), NOSPLIT, $0-24
	MOVQ	lo+0(FP), AX
	MOVQ	hi+8(FP), BX
	MOVQ	step+16(FP), CX
loop:
	CMPQ	AX, BX
	JAE	done
	XORL	DX, DX
	LOCK
	XADDL	DX, (AX)
	ADDQ	CX, AX
	JMP	loop
done:
	RET
