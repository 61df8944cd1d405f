package plugin

import (
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

// Clients gives commands what they talk to. Clients are made on first use, so help
// and flag errors need neither a cluster nor a store.
type Clients interface {
	// Kube returns a client for the cluster the kubectl flags select; it knows the
	// iam.studio-operator.io kinds and Secrets.
	Kube() (client.Client, error)
	// Namespace is the namespace -n or the kubeconfig context selects.
	Namespace() (string, error)
	// Store returns a client for the Studio user store.
	Store() (store.API, error)
}

// NewStoreFunc makes a store client for url authenticating with token;
// cmd/kubectl-studio passes internal/store/client.
type NewStoreFunc func(url, token string) (store.API, error)

// fieldManager names the plugin in managedFields and the apiserver's user agent.
const fieldManager = "kubectl-studio"

// flagClients builds clients from the kubectl flags and the store settings.
type flagClients struct {
	config         *genericclioptions.ConfigFlags
	storeURL       string
	storeTokenFile string
	getenv         func(string) string
	newStore       NewStoreFunc
	warnings       rest.WarningHandler
}

// Scheme knows the kinds the plugin reads and writes.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, iamv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (f *flagClients) Kube() (client.Client, error) {
	cfg, err := f.config.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = fieldManager
	cfg.WarningHandler = f.warnings
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: scheme})
}

func (f *flagClients) Namespace() (string, error) {
	ns, _, err := f.config.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

func (f *flagClients) Store() (store.API, error) {
	s, err := resolveStoreSettings(f.storeURL, f.storeTokenFile, f.getenv, os.ReadFile)
	if err != nil {
		return nil, err
	}
	if f.newStore == nil {
		return nil, fmt.Errorf("this build of kubectl-studio has no Studio user store client")
	}
	return f.newStore(s.URL, s.Token)
}
