// argocd-send.go: sends webhook bodies the way Argo CD's notifications
// controller sends them through service.webhook.milepost of
// plugins/argocd/argocd-notifications-cm.yaml, for tests/it/argocd-dropin.sh.
//
// What it copies from notifications-engine (pkg/services/webhook.go,
// pkg/services/services.go, pkg/api/config.go):
//   - the service's options are read with sigs.k8s.io/yaml into the same
//     WebhookOptions fields (retryWaitMin/retryWaitMax are time.Duration,
//     so JSON numbers of nanoseconds), after $milepost-token is replaced
//     by the secret's value;
//   - a zero retryWaitMin, retryWaitMax or retryMax becomes 1 s, 5 s, 3;
//   - each send is one retryablehttp client (Debian's
//     golang-github-hashicorp-go-retryablehttp-dev) with those settings and
//     the service's headers, POST as the templates say;
//   - a non-2xx answer after the retries is a failed send.
// Bodies are sent one after another, as the controller's single processor
// (--processors-count 1, the default) does.
//
// Usage: argocd-send CONFIGMAP URL TOKEN window     (print the retry window, s)
//        argocd-send CONFIGMAP URL TOKEN BODY...    (send; print "CODE ATTEMPTS")
// URL replaces the service's url (the ConfigMap's is an example).
// Exit 0 when every body got a 2xx, 1 when one did not, 2 on a bad config.
package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	retryablehttp "github.com/hashicorp/go-retryablehttp"
	"sigs.k8s.io/yaml"
)

type header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type webhookOptions struct {
	URL          string        `json:"url"`
	Headers      []header      `json:"headers"`
	RetryWaitMin time.Duration `json:"retryWaitMin"`
	RetryWaitMax time.Duration `json:"retryWaitMax"`
	RetryMax     int           `json:"retryMax"`
}

func main() {
	if len(os.Args) < 5 {
		fmt.Fprintln(os.Stderr, "usage: argocd-send CONFIGMAP URL TOKEN window|BODY...")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		fmt.Fprintln(os.Stderr, "configmap:", err)
		os.Exit(2)
	}
	svc, ok := cm.Data["service.webhook.milepost"]
	if !ok {
		fmt.Fprintln(os.Stderr, "configmap: no service.webhook.milepost")
		os.Exit(2)
	}
	svc = strings.ReplaceAll(svc, "$milepost-token", os.Args[3])
	var opts webhookOptions
	if err := yaml.Unmarshal([]byte(svc), &opts); err != nil {
		fmt.Fprintln(os.Stderr, "service.webhook.milepost:", err)
		os.Exit(2)
	}
	if opts.RetryWaitMin == 0 {
		opts.RetryWaitMin = 1 * time.Second
	}
	if opts.RetryWaitMax == 0 {
		opts.RetryWaitMax = 5 * time.Second
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 3
	}
	opts.URL = os.Args[2]

	if os.Args[4] == "window" {
		var total time.Duration
		for i := 0; i < opts.RetryMax; i++ {
			total += retryablehttp.DefaultBackoff(opts.RetryWaitMin,
			    opts.RetryWaitMax, i, nil)
		}
		fmt.Printf("%d %d\n", opts.RetryMax, int(total.Seconds()))
		return
	}

	failed := false
	for _, f := range os.Args[4:] {
		body, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		req, err := retryablehttp.NewRequest(http.MethodPost, opts.URL,
		    bytes.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, h := range opts.Headers {
			req.Header.Set(h.Name, h.Value)
		}
		attempts := 0
		client := retryablehttp.NewClient()
		client.Logger = nil
		client.HTTPClient = &http.Client{Timeout: 30 * time.Second}
		client.RetryWaitMin = opts.RetryWaitMin
		client.RetryWaitMax = opts.RetryWaitMax
		client.RetryMax = opts.RetryMax
		client.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, n int) {
			attempts = n + 1
		}
		resp, err := client.Do(req)
		if err != nil {
			fmt.Printf("error %d\n", attempts)
			fmt.Fprintln(os.Stderr, "send:", err)
			failed = true
			continue
		}
		resp.Body.Close()
		fmt.Printf("%d %d\n", resp.StatusCode, attempts)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}
