defmodule ElixirApp.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    children = [
      ElixirApp.Greeter,
      {ElixirApp.DnsCluster, ElixirApp.DnsCluster.config_from_env()},
      {ElixirApp.NodesCluster, ElixirApp.NodesCluster.config_from_env()}
    ]

    Supervisor.start_link(children, strategy: :one_for_one, name: ElixirApp.Supervisor)
  end
end
