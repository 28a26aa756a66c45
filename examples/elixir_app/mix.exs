defmodule ElixirApp.MixProject do
  use Mix.Project

  # A small Elixir application that clusters on Kubernetes through the headless
  # Service's DNS name, the way libcluster's Kubernetes.DNS strategy does, and serves a
  # GenServer that beamlink's tests and demo call. No Hex dependencies: it builds offline.
  def project do
    [
      app: :elixir_app,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      deps: [],
      releases: [
        app: [
          include_executables_for: [:unix],
          applications: [elixir_app: :permanent]
        ]
      ]
    ]
  end

  def application do
    [
      extra_applications: [:logger],
      mod: {ElixirApp.Application, []}
    ]
  end
end
