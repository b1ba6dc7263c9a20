package loop

// Receiving reports whether a task waits to receive from c (in recv, a
// for loop, or a select case). A channel fed from outside the loop (a
// signal, a file watch) registers it with Engine.Keep, so that a task
// waiting on such a channel keeps the run alive while one that is merely
// open does not (SPEC 1).
func (c *Channel) Receiving() bool { return c.recvq.waiting() }
