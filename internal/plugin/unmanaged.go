package plugin

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	iamv1 "github.com/studio-operator/studio-operator/api/v1alpha1"
	"github.com/studio-operator/studio-operator/internal/store"
)

const (
	// userPageSize is the largest page of users the store serves.
	userPageSize = 1000
	// maxUserPages bounds the walk through the users, in case a misbehaving server
	// keeps answering with a next page.
	maxUserPages      = 100_000
	noticeNoUnmanaged = "No unmanaged users found\n"
)

func newUnmanagedCommand(e *deps) *cobra.Command {
	var agency, output string
	cmd := &cobra.Command{
		Use:   "unmanaged",
		Short: "List the Studio users with access that no StudioUser names, or write manifests for them",
		Long: `List, per agency, the Studio users who have access there but whom no StudioUser names:
the operator leaves them alone. The list is the Agency's status.unmanagedUsers, which
names the first 50 (the count is exact); no store token is needed.

-o yaml writes, from the Studio user store, ready-to-apply manifests that reproduce
those users' access exactly: a StudioUser per user (named by its key in the Studio,
with its email, display name, type, locale and suspension) and RoleBindings grouping
the users who hold the same roles at the same scope (agency scope in the agency's
homeNamespace, environment scope in the environment's namespace, an environment
grant with no roles as a RoleBinding with roles: []). Once a StudioUser names a user
the operator manages all of that user's grants, so a user's grants in every agency
are written, and a user with a grant the manifests cannot express (an agency or
environment the cluster does not have) is left out, with a warning on stderr.

Each StudioUser has invitation.send: false, so applying them sends no email; for a
user still Invited (it never signed in) a comment says so: remove the field to have
the operator send it a new invitation. This needs --store-url and --store-token-file,
or STUDIO_STORE_URL and STUDIO_STORE_TOKEN (a reader token is enough).`,
		Example: `  # Who has access in acme outside of the manifests
  kubectl studio unmanaged --agency acme

  # Manifests that adopt them as they are; review, then apply
  kubectl studio unmanaged --agency acme -o yaml > adopt-acme.yaml
  kubectl apply -f adopt-acme.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output, outputYAML); err != nil {
				return err
			}
			var s store.API
			if output == outputYAML { // the store settings are checked before any request
				var err error
				if s, err = e.clients.Store(); err != nil {
					return err
				}
			}
			c, err := e.clients.Kube()
			if err != nil {
				return err
			}
			agencies, err := listAgencies(cmd.Context(), c, agency)
			if err != nil {
				return err
			}
			if output == outputTable {
				if len(agencies) == 0 {
					_, err := fmt.Fprint(e.streams.ErrOut, noticeNoAgencies)
					return err
				}
				return WriteUnmanaged(e.streams.Out, agencies)
			}
			m, err := importFromStore(cmd.Context(), c, s, agencies)
			if err != nil {
				return err
			}
			for _, w := range m.Warnings {
				fmt.Fprintf(e.streams.ErrOut, "Warning: %s\n", w)
			}
			if len(m.Users) == 0 {
				_, err := fmt.Fprint(e.streams.ErrOut, noticeNoUnmanaged)
				return err
			}
			return WriteManifests(e.streams.Out, m)
		},
	}
	cmd.Flags().StringVar(&agency, "agency", "", "Only this agency (default: every Agency)")
	addOutputFlag(cmd, &output, outputYAML)
	return cmd
}

// importFromStore reads from the store the users with a grant in one of agencies
// that no StudioUser names (and that are not removed), with their grant sets, and
// builds their manifests against the cluster's Agencies and Environments.
func importFromStore(ctx context.Context, c client.Client, s store.API, agencies []iamv1.Agency) (ImportManifests, error) {
	var users iamv1.StudioUserList
	if err := c.List(ctx, &users); err != nil {
		return ImportManifests{}, err
	}
	named := map[string]bool{}
	for _, u := range users.Items {
		named[u.Name] = true
	}
	cl, err := importCluster(ctx, c)
	if err != nil {
		return ImportManifests{}, err
	}
	seen := map[string]bool{}
	var sources []ImportSource
	for _, a := range agencies {
		err := eachStoreUser(ctx, s, store.UserFilter{Agency: a.Name, Limit: userPageSize}, func(u store.User) error {
			if named[u.Key] || seen[u.Key] || u.State == store.UserRemoved {
				return nil
			}
			seen[u.Key] = true
			set, err := s.GetGrants(ctx, u.Key)
			if err != nil {
				return err
			}
			sources = append(sources, ImportSource{User: u, Grants: set.Grants})
			return nil
		})
		if err != nil {
			return ImportManifests{}, err
		}
	}
	return BuildImport(sources, cl), nil
}

// eachStoreUser calls fn with every user f selects, page after page.
func eachStoreUser(ctx context.Context, s store.API, f store.UserFilter, fn func(store.User) error) error {
	for range maxUserPages {
		page, err := s.ListUsers(ctx, f)
		if err != nil {
			return err
		}
		for _, u := range page.Items {
			if err := fn(u); err != nil {
				return err
			}
		}
		if page.Next == nil || *page.Next == "" || *page.Next == f.Cursor {
			return nil
		}
		f.Cursor = *page.Next
	}
	return nil
}

// importCluster reads where grants go: every Agency's homeNamespace and every
// Environment by its store key (status.studioKey; before the operator set it, the
// key it will have, <namespace>.<name>). Objects being deleted are left out: a
// binding to them would not hold.
func importCluster(ctx context.Context, c client.Client) (ImportCluster, error) {
	cl := ImportCluster{HomeNamespaces: map[string]string{}, Environments: map[string]types.NamespacedName{}}
	var agencies iamv1.AgencyList
	if err := c.List(ctx, &agencies); err != nil {
		return cl, err
	}
	for _, a := range agencies.Items {
		if a.DeletionTimestamp.IsZero() {
			cl.HomeNamespaces[a.Name] = a.Spec.HomeNamespace
		}
	}
	var envs iamv1.EnvironmentList
	if err := c.List(ctx, &envs); err != nil {
		return cl, err
	}
	for _, env := range envs.Items {
		if !env.DeletionTimestamp.IsZero() {
			continue
		}
		key := types.NamespacedName{Namespace: env.Namespace, Name: env.Name}
		cl.Environments[storeEnvironmentKey(key)] = key
		if env.Status.StudioKey != "" {
			cl.Environments[env.Status.StudioKey] = key
		}
	}
	return cl, nil
}

// storeEnvironmentKey is an environment's key in the Studio user store,
// "<namespace>.<name>", as the operator makes it (planner.StoreEnvironmentKey; a
// namespace has no dots, so the key is unambiguous).
func storeEnvironmentKey(key types.NamespacedName) string { return key.Namespace + "." + key.Name }
