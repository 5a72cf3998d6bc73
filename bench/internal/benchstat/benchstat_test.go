package benchstat

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{ms(5), 5 * time.Millisecond},
		{ms(1, 2, 9), 2 * time.Millisecond},
		{ms(1, 2, 4, 9), 3 * time.Millisecond},
	} {
		if got := Median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestSortedLeavesItsInputAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	if got := Sorted(in); got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Errorf("Sorted(%v) = %v", in, got)
	}
	if in[0] != 3 {
		t.Errorf("Sorted changed its input to %v", in)
	}
}
