// Command kstatus prints the verdict of kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status, the
// library Flux, kpt and `kubectl wait`-style tools use to judge an object's health) for each
// object it reads: a JSON array of Kubernetes objects on stdin, one JSON line per object out,
// `{"status": "Current", "message": "..."}`.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	var objects []json.RawMessage
	if err := json.NewDecoder(os.Stdin).Decode(&objects); err != nil {
		fmt.Fprintln(os.Stderr, "kstatus: stdin is not a JSON array of objects:", err)
		os.Exit(2)
	}
	out := json.NewEncoder(os.Stdout)
	for i, raw := range objects {
		object := &unstructured.Unstructured{}
		if err := object.UnmarshalJSON(raw); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: object %d: %v\n", i, err)
			os.Exit(2)
		}
		result, err := status.Compute(object)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: object %d: %v\n", i, err)
			os.Exit(1)
		}
		verdict := map[string]string{"status": result.Status.String(), "message": result.Message}
		if err := out.Encode(verdict); err != nil {
			fmt.Fprintln(os.Stderr, "kstatus:", err)
			os.Exit(1)
		}
	}
}
