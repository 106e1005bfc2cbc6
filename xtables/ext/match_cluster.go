package ext

import (
	"fmt"
	"strings"
)

// struct xt_cluster_match_info (linux/netfilter/xt_cluster.h), 16 bytes:
//
//	__u32 total_nodes; __u32 node_mask; __u32 hash_seed; __u32 flags;
//
// --cluster-local-node N is saved as the mask 1<<(N-1).
const clusterNodesMax = 32

func init() {
	Register(&Extension{
		Kind: Match, Name: "cluster", Revision: 0, Family: FamilyAny,
		Size: 16,
		Options: []Option{
			{Name: "cluster-total-nodes", Args: 1},
			{Name: "cluster-local-node", Args: 1, Invertible: true},
			{Name: "cluster-local-nodemask", Args: 1, Invertible: true},
			{Name: "cluster-hash-seed", Args: 1},
		},
		Parse: func(in *ParseInput) ([]byte, error) {
			data := make([]byte, 16)
			seen := newOptionSet(in)
			for _, o := range in.Options {
				if err := seen.once(o); err != nil {
					return nil, err
				}
				if err := seen.exclusive("cluster-local-node", "cluster-local-nodemask"); err != nil {
					return nil, err
				}
				min, max := uint64(1), uint64(clusterNodesMax)
				if o.Name == "cluster-hash-seed" {
					min, max = 0, 0xffffffff
				}
				v, rest, ok := StrtoulRange(o.Arg(), min, max)
				if !ok || rest != "" {
					return nil, in.Errorf(o, "bad value %q, or out of range (%d-%d)", o.Arg(), min, max)
				}
				switch o.Name {
				case "cluster-total-nodes":
					NE.PutUint32(data, uint32(v))
				case "cluster-local-node":
					NE.PutUint32(data[4:], 1<<(v-1))
				case "cluster-local-nodemask":
					NE.PutUint32(data[4:], uint32(v))
				case "cluster-hash-seed":
					NE.PutUint32(data[8:], uint32(v))
				}
				if o.Invert {
					NE.PutUint32(data[12:], 1) // XT_CLUSTER_F_INV
				}
			}
			for _, n := range []string{"cluster-total-nodes", "cluster-hash-seed"} {
				if !seen.has(n) {
					return nil, in.Failf("cluster: option \"--%s\" must be specified", n)
				}
			}
			if !seen.has("cluster-local-node") && !seen.has("cluster-local-nodemask") {
				return nil, in.Failf("cluster match: --cluster-local-node or --cluster-local-nodemask is missing")
			}
			if uint64(NE.Uint32(data[4:])) >= 1<<NE.Uint32(data) {
				return nil, in.Failf("cluster match: the local node or node mask is beyond the total nodes")
			}
			return data, nil
		},
		Save: func(b *strings.Builder, _ RuleInfo, data []byte) error {
			fmt.Fprintf(b, "%s --cluster-local-nodemask 0x%08x --cluster-total-nodes %d --cluster-hash-seed 0x%08x",
				Invert(NE.Uint32(data[12:])&1 != 0), NE.Uint32(data[4:]), NE.Uint32(data), NE.Uint32(data[8:]))
			return nil
		},
	})
}
