defmodule ElixirApp.NodesCluster do
  @moduledoc """
  Joins a fixed list of nodes: connects to every name in `CLUSTER_NODES` (other than this
  node) and reconnects them every poll, as libcluster's `Cluster.Strategy.Epmd` does with
  its static `hosts` list. Meant for several nodes on one host (distinct names on
  127.0.0.1, as in `make demo` without root), where a DNS name cannot tell them apart.
  Real applications would configure libcluster instead:

      config :libcluster,
        topologies: [
          local: [
            strategy: Cluster.Strategy.Epmd,
            config: [hosts: [:"app1@127.0.0.1", :"app2@127.0.0.1", :"app3@127.0.0.1"]]
          ]
        ]

  Configuration from the environment:
    * `CLUSTER_NODES`: comma-separated node names, e.g.
      `app1@127.0.0.1,app2@127.0.0.1` (unset or empty: no clustering by this module)
    * `CLUSTER_POLL_MS`: polling interval in milliseconds (default 5000)
  """
  use GenServer

  def config_from_env do
    nodes =
      System.get_env("CLUSTER_NODES", "")
      |> String.split(",", trim: true)
      |> Enum.map(&String.trim/1)
      |> Enum.reject(&(&1 == ""))
      |> Enum.map(&String.to_atom/1)

    %{nodes: nodes, interval: String.to_integer(System.get_env("CLUSTER_POLL_MS", "5000"))}
  end

  def start_link(config), do: GenServer.start_link(__MODULE__, config, name: __MODULE__)

  @impl true
  def init(config) do
    send(self(), :poll)
    {:ok, config}
  end

  @impl true
  def handle_info(:poll, %{nodes: []} = config), do: {:noreply, config}

  def handle_info(:poll, config) do
    for node <- config.nodes, node != node(), node not in Node.list() do
      Node.connect(node)
    end

    Process.send_after(self(), :poll, config.interval)
    {:noreply, config}
  end
end
