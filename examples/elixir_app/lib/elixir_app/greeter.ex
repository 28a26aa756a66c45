defmodule ElixirApp.Greeter do
  @moduledoc """
  The GenServer that beamlink calls, registered locally as `:greeter`.

  From beamlink: `beamlink rpc app@10.1.2.3 gen_server call "greeter" "{hello, <<\"you\">>}"`
  or, from Rust, `node.call(("greeter", node), {hello, "you"}, timeout)`.

  Requests:
    * `{:hello, name}` -> `{:ok, "Hello, NAME, from NODE"}`
    * `:info` -> a map with this node's name, the visible and hidden nodes it sees,
      and how many calls it has served
    * `{:echo, term}` -> `term`
  """
  use GenServer

  def start_link(_opts), do: GenServer.start_link(__MODULE__, 0, name: :greeter)

  @impl true
  def init(count), do: {:ok, count}

  @impl true
  def handle_call({:hello, name}, _from, count) do
    {:reply, {:ok, "Hello, #{name}, from #{node()}"}, count + 1}
  end

  def handle_call(:info, _from, count) do
    info = %{
      node: node(),
      visible: Enum.sort(Node.list()),
      hidden: Enum.sort(Node.list(:hidden)),
      calls: count
    }

    {:reply, info, count + 1}
  end

  def handle_call({:echo, term}, _from, count), do: {:reply, term, count + 1}
end
