package portforward

// Test-only views of a Keeper.

// LocalPort is the forwarded local port.
func (k *Keeper) LocalPort() int { return k.spec.LocalPort }

// Done is closed when the keeper has stopped, by Stop or by giving up.
func (k *Keeper) Done() <-chan struct{} { return k.done }
