package imageproc

import (
	"math"
	"math/rand/v2"
)

// MaskGenerator draws BEiT block masks as transformers' FlavaMaskingGenerator
// does (same algorithm, same parameters), driven by a PCG generator instead
// of Python's random module: a seed gives the same masks on every platform
// and Go version, but not Python's masks (no port can reproduce those; the
// tests check the algorithm's invariants instead). Not safe for concurrent
// use.
type MaskGenerator struct {
	s   maskSettings
	rng *rand.Rand
}

// maskPCGStream is the second PCG seed word (the stream), fixed so that a
// uint64 seed alone determines the masks.
const maskPCGStream = 0x464c415641 // "FLAVA"

// MaskGenerator returns a generator seeded with seed, using the Processor's
// mask settings.
func (p *Processor) MaskGenerator(seed uint64) *MaskGenerator {
	return &MaskGenerator{s: p.s.mask, rng: rand.New(rand.NewPCG(seed, maskPCGStream))}
}

// Mask returns the first mask of a generator seeded with seed: side×side
// values (14×14 = 196 by default), row-major, true = masked.
func (p *Processor) Mask(seed uint64) []bool {
	return p.MaskGenerator(seed).Next()
}

// Side is the mask's side in patches.
func (g *MaskGenerator) Side() int { return g.s.side }

// Next returns a new side×side mask.
func (g *MaskGenerator) Next() []bool {
	m := make([]bool, g.s.side*g.s.side)
	g.NextInto(m)
	return m
}

// NextInto clears mask (len side×side) and fills it with the next mask,
// returning the number of masked patches.
func (g *MaskGenerator) NextInto(mask []bool) int {
	return g.next(mask, nil)
}

// block is one accepted rectangle proposal, for tests.
type block struct{ top, left, h, w, added int }

// next is FlavaMaskingGenerator.__call__; onBlock (may be nil) sees every
// rectangle that added patches.
func (g *MaskGenerator) next(mask []bool, onBlock func(block)) int {
	side := g.s.side
	if len(mask) != side*side {
		panic("imageproc: mask buffer of wrong length")
	}
	clear(mask)
	count := 0
	for count < g.s.total {
		maxPatches := min(g.s.total-count, g.s.maxPatches)
		delta := g.maskRound(mask, maxPatches, onBlock)
		if delta == 0 {
			break
		}
		count += delta
	}
	return count
}

// uniform is Python's random.uniform: a + (b-a) * random().
func (g *MaskGenerator) uniform(a, b float64) float64 { return a + (b-a)*g.rng.Float64() }

// randint is Python's random.randint: a..b inclusive.
func (g *MaskGenerator) randint(a, b int) int { return a + g.rng.IntN(b-a+1) }

// maskRound is FlavaMaskingGenerator._mask: up to 10 proposals, stopping at
// the first that adds patches.
func (g *MaskGenerator) maskRound(mask []bool, maxPatches int, onBlock func(block)) int {
	side := g.s.side
	delta := 0
	for attempt := 0; attempt < 10; attempt++ {
		target := g.uniform(float64(g.s.minPatches), float64(maxPatches))
		ratio := math.Exp(g.uniform(g.s.logAspectMin, g.s.logAspectMax))
		h := int(math.RoundToEven(math.Sqrt(target * ratio)))
		w := int(math.RoundToEven(math.Sqrt(target / ratio)))
		if w < side && h < side {
			top := g.randint(0, side-h)
			left := g.randint(0, side-w)
			masked := 0
			for i := top; i < top+h; i++ {
				for _, m := range mask[i*side+left : i*side+left+w] {
					if m {
						masked++
					}
				}
			}
			if n := h*w - masked; 0 < n && n <= maxPatches {
				for i := top; i < top+h; i++ {
					row := mask[i*side+left : i*side+left+w]
					for j := range row {
						if !row[j] {
							row[j] = true
							delta++
						}
					}
				}
				if onBlock != nil {
					onBlock(block{top: top, left: left, h: h, w: w, added: n})
				}
			}
			if delta > 0 {
				break
			}
		}
	}
	return delta
}
