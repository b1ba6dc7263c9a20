package loop

// Receiving reports whether a task waits to receive from c (in recv, a
// for loop, or a select case). A channel fed from outside the loop (a
// signal, a file watch) registers it with Engine.Keep, so that a task
// waiting on such a channel keeps the run alive while one that is merely
// open does not (SPEC 1).
func (c *Channel) Receiving() bool { return c.recvq.waiting() }

// OnTake sets fn to run once, the next time a receiver takes a value from
// c's buffer: a channel fed from outside the loop (nats.subscribe) hands
// its feeder a credit back then, so that what waits for a receiver is
// bounded by the channel's capacity.
func (c *Channel) OnTake(fn func()) { c.onTake = fn }
