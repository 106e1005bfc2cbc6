package main

import (
	"fmt"
	"strings"
)

// Synthetic inputs: a filter table shaped like a host running Docker
// and kube-proxy, with n rules that hostwall does not own ("foreign"),
// and a seed-shaped policy whose FILTERS chain has p rules.

// foreignChains are the user chains Docker and kube-proxy create in the
// filter table, declared at every size (empty at size 0).
var foreignChains = []string{
	"DOCKER", "DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-USER",
	"KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-KUBELET-CANARY",
	"KUBE-NODEPORTS", "KUBE-PROXY-CANARY", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES",
}

// genRule is one foreign rule: its chain and its options.
type genRule struct{ chain, spec string }

// skeletonHead are the rules Docker and kube-proxy always install at the
// top of their chains; skeletonTail the ones that close chains.
var skeletonHead = []genRule{
	{"INPUT", `-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`},
	{"INPUT", `-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS`},
	{"INPUT", `-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`},
	{"INPUT", `-j KUBE-FIREWALL`},
	{"FORWARD", `-j DOCKER-USER`},
	{"FORWARD", `-j DOCKER-ISOLATION-STAGE-1`},
	{"FORWARD", `-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`},
	{"FORWARD", `-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`},
	{"FORWARD", `-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`},
	{"FORWARD", `-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`},
	{"OUTPUT", `-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`},
	{"OUTPUT", `-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`},
	{"OUTPUT", `-j KUBE-FIREWALL`},
	{"KUBE-FIREWALL", `! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`},
	{"KUBE-FORWARD", `-m conntrack --ctstate INVALID -j DROP`},
	{"KUBE-FORWARD", `-m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT`},
	{"KUBE-FORWARD", `-m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`},
}

var skeletonTail = []genRule{
	{"DOCKER-ISOLATION-STAGE-1", `-j RETURN`},
	{"DOCKER-ISOLATION-STAGE-2", `-j RETURN`},
	{"DOCKER-USER", `-j RETURN`},
}

// minForeign is the smallest non-zero size: the skeleton alone.
var minForeign = len(skeletonHead) + len(skeletonTail)

// varied returns the i-th generated rule: Docker networks and published
// ports, kube-proxy services without endpoints, health-check node ports,
// external services and load-balancer source ranges, in a fixed mix.
func varied(i int) genRule {
	k := i / 8 // the k-th network, container or service
	a, b := (k/250)%250, k%250+1
	br := fmt.Sprintf("br-%012x", 0x5eed0000+k%4096)
	port := 30000 + k%2768
	switch i % 8 {
	case 0:
		return genRule{"FORWARD", fmt.Sprintf("-o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", br)}
	case 1:
		return genRule{"DOCKER", fmt.Sprintf("-d 172.%d.%d.%d/32 ! -i %s -o %s -p tcp -m tcp --dport %d -j ACCEPT", 18+a%14, b, 2+k%250, br, br, 8000+k%1000)}
	case 2:
		return genRule{"DOCKER-ISOLATION-STAGE-1", fmt.Sprintf("-i %s ! -o %s -j DOCKER-ISOLATION-STAGE-2", br, br)}
	case 3:
		return genRule{"KUBE-SERVICES", fmt.Sprintf(`-d 10.96.%d.%d/32 -p tcp -m comment --comment "ns-%d/svc-%d:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable`, a, b, k%97, k)}
	case 4:
		return genRule{"KUBE-NODEPORTS", fmt.Sprintf(`-p tcp -m comment --comment "ns-%d/svc-%d:health health check node port" -m tcp --dport %d -j ACCEPT`, k%97, k, port)}
	case 5:
		return genRule{"KUBE-EXTERNAL-SERVICES", fmt.Sprintf(`-p tcp -m comment --comment "ns-%d/svc-%d:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport %d -j DROP`, k%97, k, port)}
	case 6:
		return genRule{"KUBE-PROXY-FIREWALL", fmt.Sprintf(`-d 203.0.%d.%d/32 -p tcp -m comment --comment "ns-%d/svc-%d:https traffic not accepted by KUBE-FW-%08X" -m tcp --dport 443 -j DROP`, a, b, k%97, k, uint32(k)*2654435761)}
	default:
		return genRule{"DOCKER-ISOLATION-STAGE-2", fmt.Sprintf("-o %s -j DROP", br)}
	}
}

// genBase returns the foreign filter table with exactly n rules, in
// iptables-restore -c format with non-zero counters: the host's state
// before hostwall or the recipe touches it. n is 0 or at least
// minForeign.
func genBase(n int) (string, error) {
	if n != 0 && n < minForeign {
		return "", fmt.Errorf("foreign size %d: must be 0 or at least %d", n, minForeign)
	}
	var rules []genRule
	if n > 0 {
		rules = append(rules, skeletonHead...)
		for i := 0; len(rules) < n-len(skeletonTail); i++ {
			rules = append(rules, varied(i))
		}
		rules = append(rules, skeletonTail...)
	}
	var sb strings.Builder
	sb.WriteString("*filter\n:INPUT ACCEPT [912345:81234567]\n:FORWARD DROP [1234:98765]\n:OUTPUT ACCEPT [876543:71234567]\n")
	for _, c := range foreignChains {
		fmt.Fprintf(&sb, ":%s - [0:0]\n", c)
	}
	for i, r := range rules {
		pk := uint64(i)*2654435761%100000 + 1
		fmt.Fprintf(&sb, "[%d:%d] -A %s %s\n", pk, pk*84, r.chain, r.spec)
	}
	sb.WriteString("COMMIT\n")
	return sb.String(), nil
}

// genPolicy returns a seed-shaped rules file whose FILTERS chain has p
// rules, hooked from INPUT and from DOCKER-USER -i eth0. variant 1 is
// the same file with one rule edited (the ssh port): the state a host
// is in before the reload being measured.
func genPolicy(p, variant int) (string, error) {
	seed := []string{
		"-i lo -j ACCEPT",
		"-m state --state RELATED,ESTABLISHED -j ACCEPT",
		"-m conntrack --ctstate INVALID -j DROP",
		"-s 127.0.0.0/8 ! -i lo -j DROP",
		"-p icmp -j ACCEPT",
		"-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT",
	}
	if variant == 1 {
		seed[5] = "-p tcp -m state --state NEW -m tcp --dport 2222 -j ACCEPT"
	}
	if p < len(seed)+1 {
		return "", fmt.Errorf("policy size %d: must be at least %d", p, len(seed)+1)
	}
	rules := append([]string(nil), seed...)
	for i := 0; len(rules) < p-1; i++ {
		a, b := (i/250)%250, i%250+1
		switch i % 3 {
		case 0:
			rules = append(rules, fmt.Sprintf(`-s 198.18.%d.%d/32 -p tcp -m conntrack --ctstate NEW -m tcp --dport 443 -m comment --comment "client %d" -j ACCEPT`, a, b, i))
		case 1:
			rules = append(rules, fmt.Sprintf(`-s 198.19.%d.%d/32 -p tcp -m multiport --dports 80,443,8080 -j ACCEPT`, a, b))
		default:
			rules = append(rules, fmt.Sprintf(`-s 100.64.%d.0/24 -p udp -m udp --dport %d -j ACCEPT`, i%250, 10000+i%5000))
		}
	}
	rules = append(rules, "-j REJECT")

	var sb strings.Builder
	sb.WriteString("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FILTERS - [0:0]\n:DOCKER-USER - [0:0]\n\n")
	sb.WriteString("# allow forwarding connections\n-F FORWARD\n-A FORWARD -j ACCEPT\n\n")
	sb.WriteString("# allow all outbound connections\n-F OUTPUT\n-A OUTPUT -j ACCEPT\n\n")
	sb.WriteString("# make the INPUT chain use the FILTERS chain\n-F INPUT\n-A INPUT -j FILTERS\n\n")
	sb.WriteString("# make the DOCKER-USER chain use the FILTERS chain\n-F DOCKER-USER\n-A DOCKER-USER -i eth0 -j FILTERS\n\n")
	sb.WriteString("-F FILTERS\n")
	for _, r := range rules {
		sb.WriteString("-A FILTERS " + r + "\n")
	}
	sb.WriteString("\nCOMMIT\n")
	return sb.String(), nil
}

// recipeSetup are the iptables commands the seed article runs once, at
// boot, before its reload: the chain and its hooks.
var recipeSetup = [][]string{
	{"-N", "FILTERS"},
	{"-I", "INPUT", "-j", "FILTERS"},
	{"-I", "DOCKER-USER", "-i", "eth0", "-j", "FILTERS"},
}

// recipePattern is the article's egrep expression.
const recipePattern = `^(-[A-Z] FILTERS|COMMIT|\*)`
