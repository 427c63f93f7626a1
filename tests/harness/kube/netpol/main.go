// Command kube-network-policies is upstream's NetworkPolicy agent
// (sigs.k8s.io/kube-network-policies/pkg/networkpolicy) run on the test node's
// host like kube-proxy: upstream's cmd/main.go reads only the in-cluster
// ServiceAccount files (fixed paths under /var/run/secrets), so this main is
// the same wiring with a --kubeconfig instead and its nftables table named by
// the harness.
//
// v0.7.0, not v0.8.0: v0.8.0 looks an address that is no pod's up in its NRI
// plugin, which with NRI off is nil (a panic on the first packet from the
// host, seen here), and with NRI on dials the host's /var/run/nri/nri.sock,
// which is no runtime of ours.
//
// go.mod requires the versions node/go.mod selects of every module the two
// share (client-go and the rest of k8s.io at v0.35.4, x/net, protobuf, ...):
// the same packages at the same versions are compiled once, so after the node
// binaries this build is mostly the agent's own packages and a link.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"

	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run())
}

func run() int {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	nodeName := flag.String("hostname-override", "", "name of this node")
	queueID := flag.Int("nfqueue-id", 100, "number of the nfqueue the packets are steered to")
	tableName := flag.String("nftable-name", "kube-network-policies", "name of the inet nftables table the agent writes")
	metrics := flag.String("metrics-bind-address", "127.0.0.1:9080", "address of /metrics")
	failOpen := flag.Bool("fail-open", false, "accept packets while the agent is not running")
	c := logsapi.NewLoggingConfiguration()
	logsapi.AddGoFlags(c, flag.CommandLine)
	flag.Parse()
	logs.InitLogs()
	if err := logsapi.ValidateAndApply(c, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if *nodeName == "" {
		fmt.Fprintln(os.Stderr, "--hostname-override is required")
		return 1
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer cancel()

	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Errorf("kubeconfig: %v", err)
		return 1
	}
	config.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	config.ContentType = "application/vnd.kubernetes.protobuf"
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		klog.Errorf("client: %v", err)
		return 1
	}
	factory := informers.NewSharedInformerFactory(clientset, 0)

	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	go func() { utilruntime.HandleError(http.ListenAndServe(*metrics, mux)) }()

	controller, err := networkpolicy.NewController(
		clientset,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil,
		networkpolicy.Config{
			FailOpen:    *failOpen,
			QueueID:     *queueID,
			NodeName:    *nodeName,
			NFTableName: *tableName,
		},
	)
	if err != nil {
		klog.Errorf("controller: %v", err)
		return 1
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		utilruntime.HandleError(controller.Run(ctx))
	}()
	factory.Start(ctx.Done())
	<-ctx.Done()
	<-done // Run removes its table on the way out
	return 0
}
