package compile

// Superinstructions (coro patch, ORIGIN 28).
//
// Most of a loop's instructions come in a few short runs: two operands
// loaded (locals, constants, globals), an arithmetic operator or a
// comparison, then a store or a conditional jump (`while i < n`,
// `i += 1`, `total += x`). Run one instruction at a time, each pays the
// interpreter's per-instruction work (the step count, the cancellation
// check, the dispatch); run as one, the run pays it once. CPython's
// specialising interpreter gets much of its speed the same way.

// FUSED is the opcode of a superinstruction. It appears only in the table
// Fused returns, never in Code: its argument indexes Fused's fusions.
const FUSED Opcode = OpcodeMax + 1

// A Fusion is a superinstruction: a run of three or four instructions
// that loads two operands X and Y, applies Bin to them, then stores the
// result (Then SETLOCAL or SETGLOBAL), jumps on it (CJMP) or pushes it
// (NOP).
//
// The interpreter runs a fusion as one step when X and Y are bound ints
// in int64 range whose sum or difference does not overflow; otherwise
// it runs the run's first instruction (X's load) as it would have
// without fusion, and the rest of the run follows one instruction at a
// time, so every error, its position and the step count are those of
// the unfused code.
type Fusion struct {
	X, Y    Operand
	XNext   uint32 // the address after X's load
	Bin     Opcode // PLUS, MINUS, INPLACE_ADD, or a comparison (LT...NEQ)
	Then    Opcode // NOP, SETLOCAL, SETGLOBAL, or CJMP (after a comparison)
	ThenArg uint32
	Next    uint32 // the address after the run (a CJMP's, if not taken)
	Steps   uint64 // how many instructions the run has
}

// An Operand is a load a Fusion begins with: LOCAL, CONSTANT or GLOBAL,
// and its argument.
type Operand struct {
	Op  Opcode
	Arg uint32
}

// fusedCode is what Fused made.
type fusedCode struct {
	insns   []Insn
	fusions []Fusion
}

// Fused returns Insns with every run that a Fusion can stand for replaced,
// at the run's first address, by a FUSED instruction whose argument
// indexes fusions. The run's other instructions stay at their addresses,
// and no run spans a jump target other than its start, so control that
// reaches an address inside a run (a fallback) runs the unfused code. It
// is made on first use, like Insns.
func (fn *Funcode) Fused() ([]Insn, []Fusion) {
	if p := fn.fused.Load(); p != nil {
		return p.insns, p.fusions
	}
	insns := append([]Insn(nil), fn.Insns()...)
	targets := make(map[uint32]bool)
	for pc := uint32(0); pc < uint32(len(insns)); pc = insns[pc].Next {
		if op := insns[pc].Op; op == JMP || op == CJMP || op == ITERJMP {
			targets[insns[pc].Arg] = true
		}
	}
	var fusions []Fusion
	for pc := uint32(0); pc < uint32(len(insns)); {
		fu, ok := fuseAt(insns, targets, pc)
		if !ok {
			pc = insns[pc].Next
			continue
		}
		insns[pc] = Insn{Op: FUSED, Arg: uint32(len(fusions)), Next: fu.Next}
		fusions = append(fusions, fu)
		pc = fu.Next
	}
	fn.fused.Store(&fusedCode{insns: insns, fusions: fusions})
	return insns, fusions
}

// fuseAt returns the longest fusion of the run that starts at pc, if
// there is one.
func fuseAt(insns []Insn, targets map[uint32]bool, pc uint32) (Fusion, bool) {
	// next is the instruction after in, unless a jump lands there.
	next := func(in Insn) (Insn, bool) {
		if in.Next >= uint32(len(insns)) || targets[in.Next] {
			return Insn{}, false
		}
		return insns[in.Next], true
	}
	x := insns[pc]
	y, ok := next(x)
	if !ok || !isOperand(x.Op) || !isOperand(y.Op) {
		return Fusion{}, false
	}
	fu := Fusion{X: Operand{x.Op, x.Arg}, Y: Operand{y.Op, y.Arg}, XNext: x.Next}
	bin, ok := next(y)
	if !ok || !(bin.Op == PLUS || bin.Op == MINUS || bin.Op == INPLACE_ADD || isComparison(bin.Op)) {
		// Two loads alone save too little to pay for a fusion's call,
		// and would take the second load from a run it could begin
		// (`f(n - 1)`: GLOBAL f, then LOCAL n, CONSTANT 1, MINUS).
		return Fusion{}, false
	}
	fu.Bin, fu.Next, fu.Steps = bin.Op, bin.Next, 3
	then, ok := next(bin)
	if !ok {
		return fu, true
	}
	switch {
	case then.Op == CJMP && isComparison(bin.Op),
		(then.Op == SETLOCAL || then.Op == SETGLOBAL) && !isComparison(bin.Op):
		fu.Then, fu.ThenArg, fu.Next, fu.Steps = then.Op, then.Arg, then.Next, 4
	}
	return fu, true
}

func isOperand(op Opcode) bool    { return op == LOCAL || op == CONSTANT || op == GLOBAL }
func isComparison(op Opcode) bool { return LT <= op && op <= NEQ }
