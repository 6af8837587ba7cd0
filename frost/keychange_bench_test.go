package frost

import "testing"

// keyChangeSizes are the sizes the refresh, repair and reshare benchmarks
// run at (docs/performance-frost.md).
var keyChangeSizes = []struct{ t, n int }{{3, 5}, {67, 100}}

// benchEach runs one sub-benchmark per key-change size.
func benchEach(b *testing.B, f func(b *testing.B, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, ids []Identifier, t int)) {
	for _, s := range keyChangeSizes {
		b.Run(sizeName(s.t, s.n), func(b *testing.B) {
			kps, pub, _ := benchSetup(b, s.t, s.n)
			f(b, kps, pub, pub.Identifiers(), s.t)
		})
	}
}

func noErr(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRefreshDealer(b *testing.B) {
	benchEach(b, func(b *testing.B, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, ids []Identifier, t int) {
		b.Run("ComputeRefreshingShares", func(b *testing.B) {
			for b.Loop() {
				_, _, err := ComputeRefreshingShares(nil, pub, ids, t)
				noErr(b, err)
			}
		})
		shares, _, err := ComputeRefreshingShares(nil, pub, ids, t)
		noErr(b, err)
		b.Run("RefreshShare", func(b *testing.B) {
			for b.Loop() {
				_, err := RefreshShare(shares[ids[0]], kps[ids[0]])
				noErr(b, err)
			}
		})
	})
}

// BenchmarkRefreshDKG measures one participant's three parts of a refresh
// by DKG of all n participants.
func BenchmarkRefreshDKG(b *testing.B) {
	benchEach(b, func(b *testing.B, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, ids []Identifier, t int) {
		n, self := len(ids), ids[0]
		b.Run("RefreshDKGPart1", func(b *testing.B) {
			for b.Loop() {
				_, _, err := RefreshDKGPart1(nil, self, n, t)
				noErr(b, err)
			}
		})
		sec1 := map[Identifier]*DKGRound1Secret{}
		r1 := map[Identifier]*RefreshRound1Package{}
		for _, id := range ids {
			s, p, err := RefreshDKGPart1(nil, id, n, t)
			noErr(b, err)
			sec1[id], r1[id] = s, p
		}
		others := func(me Identifier) map[Identifier]*RefreshRound1Package {
			m := map[Identifier]*RefreshRound1Package{}
			for id, p := range r1 {
				if id != me {
					m[id] = p
				}
			}
			return m
		}
		b.Run("RefreshDKGPart2", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				s, _, _ := RefreshDKGPart1(nil, self, n, t)
				b.StartTimer()
				_, _, err := RefreshDKGPart2(s, others(self))
				noErr(b, err)
			}
		})
		in := map[Identifier]*DKGRound2Package{}
		var sec2 *DKGRound2Secret
		for _, id := range ids {
			s, out, err := RefreshDKGPart2(sec1[id], others(id))
			noErr(b, err)
			if id == self {
				sec2 = s
			} else {
				in[id] = out[self]
			}
		}
		b.Run("RefreshDKGShares", func(b *testing.B) {
			for b.Loop() {
				_, _, err := RefreshDKGShares(sec2, others(self), in, pub, kps[self])
				noErr(b, err)
			}
		})
	})
}

// BenchmarkRepair measures each repair part with t helpers.
func BenchmarkRepair(b *testing.B) {
	benchEach(b, func(b *testing.B, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, ids []Identifier, t int) {
		lost, helpers := ids[0], ids[1:t+1]
		b.Run("RepairSharePart1", func(b *testing.B) {
			for b.Loop() {
				_, err := RepairSharePart1(nil, helpers, kps[helpers[0]], lost)
				noErr(b, err)
			}
		})
		inbox := map[Identifier][]*RepairDelta{}
		for _, h := range helpers {
			deltas, err := RepairSharePart1(nil, helpers, kps[h], lost)
			noErr(b, err)
			for to, d := range deltas {
				inbox[to] = append(inbox[to], d)
			}
		}
		b.Run("RepairSharePart2", func(b *testing.B) {
			for b.Loop() {
				_, err := RepairSharePart2(inbox[helpers[0]])
				noErr(b, err)
			}
		})
		var sigmas []*RepairSigma
		for _, h := range helpers {
			s, err := RepairSharePart2(inbox[h])
			noErr(b, err)
			sigmas = append(sigmas, s)
		}
		b.Run("RepairSharePart3", func(b *testing.B) {
			for b.Loop() {
				_, err := RepairSharePart3(sigmas, lost, pub)
				noErr(b, err)
			}
		})
	})
}

// BenchmarkReshare measures a t-of-n to t-of-n reshare with the first t
// holders dealing: one dealer's deal, one commitment check, one new holder's
// receive.
func BenchmarkReshare(b *testing.B) {
	benchEach(b, func(b *testing.B, kps map[Identifier]*KeyPackage, pub *PublicKeyPackage, ids []Identifier, t int) {
		p := ReshareParams{Dealers: ids[:t], NewIdentifiers: ids, NewMinSigners: t}
		b.Run("ReshareDeal", func(b *testing.B) {
			for b.Loop() {
				_, _, err := ReshareDeal(nil, kps[ids[0]], p)
				noErr(b, err)
			}
		})
		coms := map[Identifier]*ReshareCommitment{}
		shares := map[Identifier]*ReshareShare{}
		for _, d := range p.Dealers {
			c, out, err := ReshareDeal(nil, kps[d], p)
			noErr(b, err)
			coms[d], shares[d] = c, out[ids[0]]
		}
		b.Run("VerifyReshareCommitment", func(b *testing.B) {
			for b.Loop() {
				noErr(b, VerifyReshareCommitment(pub, p, ids[0], coms[ids[0]]))
			}
		})
		b.Run("ReshareReceive", func(b *testing.B) {
			for b.Loop() {
				_, _, err := ReshareReceive(ids[0], pub, p, coms, shares)
				noErr(b, err)
			}
		})
	})
}
