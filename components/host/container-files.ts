// The one way a component turns its inputs into the files its container receives.
import * as pulumi from "@pulumi/pulumi";
import { RenderedFiles } from "../../render/template";

/**
 * Renders `inputs`, once every one of them is known, with `render` (the component's pure
 * renderer). The files are secret whatever the inputs say: config files carry passwords and
 * keys, and a caller that hands in a plain value must not make them readable in the state.
 */
export function containerFiles<T extends Record<string, unknown>>(
  component: pulumi.Resource,
  inputs: T,
  render: (values: pulumi.Unwrap<T>) => RenderedFiles,
): pulumi.Output<RenderedFiles> {
  return pulumi.secret(pulumi.output(inputs).apply((values) => renderingFor(component, render)(values as pulumi.Unwrap<T>)));
}

/** `render`, with its errors failing the deployment on `component`, so the CLI names the component that could not be configured. */
export function renderingFor<V>(component: pulumi.Resource, render: (values: V) => RenderedFiles): (values: V) => RenderedFiles {
  return (values) => {
    try {
      return render(values);
    } catch (e) {
      throw new pulumi.ResourceError((e as Error).message, component);
    }
  };
}
