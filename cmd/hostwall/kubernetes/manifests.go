// Package kubernetes holds hostwall's DaemonSet (daemonset.yaml) and an
// example of the ConfigMap of rules it mounts (configmap.yaml), and
// decodes them strictly into the Kubernetes API types: an unknown or
// misspelt field is an error, as kubectl apply --validate=strict makes
// it. Only tests import it; users apply the YAML files.
package kubernetes

import (
	_ "embed"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// DaemonSetYAML and ConfigMapYAML are the files as shipped.
var (
	//go:embed daemonset.yaml
	DaemonSetYAML []byte
	//go:embed configmap.yaml
	ConfigMapYAML []byte
)

// DaemonSet decodes daemonset.yaml strictly.
func DaemonSet() (*appsv1.DaemonSet, error) {
	var ds appsv1.DaemonSet
	if err := decode("daemonset.yaml", DaemonSetYAML, "apps/v1", "DaemonSet", &ds, &ds.TypeMeta); err != nil {
		return nil, err
	}
	return &ds, nil
}

// ConfigMap decodes configmap.yaml strictly.
func ConfigMap() (*corev1.ConfigMap, error) {
	var cm corev1.ConfigMap
	if err := decode("configmap.yaml", ConfigMapYAML, "v1", "ConfigMap", &cm, &cm.TypeMeta); err != nil {
		return nil, err
	}
	return &cm, nil
}

// decode unmarshals one YAML document strictly (unknown and duplicate
// fields are errors) and checks its apiVersion and kind.
func decode(name string, data []byte, apiVersion, kind string, into any, tm *metav1.TypeMeta) error {
	if err := yaml.UnmarshalStrict(data, into); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if tm.APIVersion != apiVersion || tm.Kind != kind {
		return fmt.Errorf("%s: %s %s, want %s %s", name, tm.APIVersion, tm.Kind, apiVersion, kind)
	}
	return nil
}

// Container is the DaemonSet's one container.
func Container(ds *appsv1.DaemonSet) (*corev1.Container, error) {
	if n := len(ds.Spec.Template.Spec.Containers); n != 1 {
		return nil, fmt.Errorf("daemonset.yaml: %d containers, want 1", n)
	}
	return &ds.Spec.Template.Spec.Containers[0], nil
}
